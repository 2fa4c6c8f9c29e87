#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <xxhash.h>

#include "tables/table.h"
#include "tables/table_set.h"

namespace tailor {
namespace {

namespace fs = std::filesystem;

class CompiledTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/tables-compiled-" + std::to_string(getpid());
    fs::create_directories(dir_);
    out_ = dir_ + "/stores.tbl";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::shared_ptr<const Table> Csv(std::string_view text) {
    Diagnostics d;
    auto t = Table::ParseCsv(text, "stores.csv", "id", d);
    EXPECT_TRUE(t) << (d.items().empty() ? "" : FormatDiagnosticLine(d.items()[0]));
    return t;
  }
  std::string Read() {
    std::ifstream in(out_, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  void WriteBytes(const std::string& b) { std::ofstream(out_, std::ios::binary) << b; }
  std::string dir_, out_;
};

constexpr std::string_view kStores =
    "id:number,name,lat,lon,open:bool\n"
    "1,Paris Opéra,48.8719,2.3316,true\n"
    "2,Berlin Mitte,52.52,13.405,\n"
    "3,London Soho,51.5136,-0.1365,false\n"
    "4,,,,\n";

TEST_F(CompiledTableTest, RoundTripsEverything) {
  auto csv = Csv(kStores);
  ASSERT_TRUE(csv);
  ASSERT_TRUE(csv->WriteCompiled(out_).ok());
  Diagnostics d;
  auto t = Table::LoadFile(out_, "id", d);
  ASSERT_TRUE(t) << FormatDiagnosticLine(d.items()[0]);
  ASSERT_EQ(t->row_count(), csv->row_count());
  ASSERT_EQ(t->columns().size(), csv->columns().size());
  for (size_t c = 0; c < t->columns().size(); ++c) {
    EXPECT_EQ(t->columns()[c].name, csv->columns()[c].name);
    EXPECT_EQ(t->ColumnType(static_cast<int>(c)), csv->ColumnType(static_cast<int>(c)));
    EXPECT_EQ(t->columns()[c].declared, csv->columns()[c].declared);
  }
  for (double key : {1.0, 2.0, 3.0, 4.0, 5.0}) {
    for (int c = 0; c < static_cast<int>(t->columns().size()); ++c) {
      Value a = t->Lookup(Value::Number(key), c), b = csv->Lookup(Value::Number(key), c);
      ASSERT_EQ(a.type, b.type) << key << " " << c;
      EXPECT_EQ(a.str, b.str);
      EXPECT_EQ(a.number, b.number);
      EXPECT_EQ(a.boolean, b.boolean);
    }
  }
  EXPECT_EQ(t->Lookup(Value::String("2.0"), 1).str, "Berlin Mitte");
  EXPECT_EQ(t->NearestTo(48.85, 2.35).row, 0);
}

TEST_F(CompiledTableTest, RefusesDamagedTruncatedAndMiskeyedFiles) {
  auto csv = Csv(kStores);
  ASSERT_TRUE(csv->WriteCompiled(out_).ok());
  const std::string good = Read();
  Diagnostics d;
  EXPECT_FALSE(Table::LoadCompiled(out_, "name", d));  // keyed by id
  for (size_t len : {size_t{0}, size_t{10}, size_t{64}, good.size() / 2, good.size() - 1}) {
    WriteBytes(good.substr(0, len));
    EXPECT_FALSE(Table::LoadCompiled(out_, "id", d)) << len;
  }
  for (size_t pos = 8; pos < good.size(); pos += 13) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x41);
    WriteBytes(bad);
    EXPECT_FALSE(Table::LoadCompiled(out_, "id", d)) << pos;
  }
  ASSERT_GT(d.error_count(), 0u);
  EXPECT_NE(FormatDiagnosticLine(d.items().back()).find(out_ + ": error: compiled table: "),
            std::string::npos);
}

// A file with a valid checksum but damaged structure (crafted): refused, or every lookup
// stays in bounds (run under ASan in the sanitizer build).
TEST_F(CompiledTableTest, CraftedFilesWithValidChecksumsAreSafe) {
  ASSERT_TRUE(Csv(kStores)->WriteCompiled(out_).ok());
  const std::string good = Read();
  int refused = 0, loaded = 0;
  for (size_t pos = 8; pos < good.size(); pos += 3) {
    if (pos >= 56 && pos < 64) continue;  // the checksum itself
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5A);
    const uint64_t sum = XXH3_64bits(bad.data() + 64, bad.size() - 64);
    std::memcpy(bad.data() + 56, &sum, 8);
    WriteBytes(bad);
    Diagnostics d;
    auto t = Table::LoadCompiled(out_, "id", d);
    if (!t) {
      ++refused;
      continue;
    }
    ++loaded;
    for (int64_t r = 0; r < static_cast<int64_t>(t->row_count()); ++r)
      for (int c = 0; c < static_cast<int>(t->columns().size()); ++c) {
        Value v = t->Cell(r, c);
        if (v.type == ValueType::kString) ASSERT_LE(v.str.size(), good.size());
      }
    for (double k : {1.0, 2.0, 3.0, 4.0, 99.0}) (void)t->Lookup(Value::Number(k), 1);
    (void)t->NearestTo(50, 5);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);  // flips inside string bytes and numbers are not structural
}

TEST_F(CompiledTableTest, RegistryLoadsAndReloadsCompiledFiles) {
  ASSERT_TRUE(Csv(kStores)->WriteCompiled(out_).ok());
  TableRegistry reg;
  Diagnostics d;
  ASSERT_EQ(reg.Add("stores", out_, "id", d), 0);
  EXPECT_EQ(reg.Current()->at(0)->Lookup(Value::Number(3), 1).str, "London Soho");
  ASSERT_TRUE(Csv("id:number,name,lat,lon,open:bool\n3,London Bridge,51.5,-0.08,true\n")
                  ->WriteCompiled(out_).ok());
  reg.Poll();
  auto r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kSwapped);
  EXPECT_EQ(reg.Current()->at(0)->Lookup(Value::Number(3), 1).str, "London Bridge");
  std::string bytes = Read();
  bytes[bytes.size() - 3] ^= 1;
  std::ofstream(out_ + ".tmp", std::ios::binary) << bytes;
  fs::rename(out_ + ".tmp", out_);
  reg.Poll();
  r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(r[0].event.message.find("checksum"), std::string::npos) << r[0].event.message;
  EXPECT_EQ(reg.Current()->at(0)->Lookup(Value::Number(3), 1).str, "London Bridge");
}

// The loaded table is a private copy: rewriting the live file in place (`cp` over it) or
// truncating it changes nothing for lookups. The reads run in a child process, because a
// table still mapping the file (MAP_SHARED) gets SIGBUS past a truncated file's end.
TEST_F(CompiledTableTest, RewritingOrTruncatingTheLiveFileDoesNotTouchTheTable) {
  std::string csv = "id,name\n";
  for (int i = 0; i < 5000; ++i) csv += "k" + std::to_string(i) + ",name-" + std::to_string(i) + "\n";
  ASSERT_TRUE(Csv(csv)->WriteCompiled(out_).ok());
  std::string other = "id,name\n";
  for (int i = 0; i < 5000; ++i) other += "k" + std::to_string(i) + ",NAME+" + std::to_string(i) + "\n";
  const std::string other_path = dir_ + "/other.tbl";
  ASSERT_TRUE(Csv(other)->WriteCompiled(other_path).ok());
  std::ifstream in(other_path, std::ios::binary);
  const std::string other_bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Diagnostics d;
  auto t = Table::LoadFile(out_, "id", d);
  ASSERT_TRUE(t);
  // Exit status 0 when every row still reads its first value.
  auto reads_all_rows_in_a_child = [&] {
    const pid_t pid = fork();
    if (pid == 0) {
      int bad = 0;
      for (int i = 0; i < 5000; ++i) {
        Value v = t->Lookup(Value::String("k" + std::to_string(i)), 1);
        if (v.missing() || v.str != "name-" + std::to_string(i)) ++bad;
      }
      _exit(bad == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };
  for (const std::string& bytes : {other_bytes, std::string(), other_bytes.substr(0, 100)}) {
    // In place: the same inode, as `cp` or a shell redirection does.
    std::ofstream(out_, std::ios::binary | std::ios::trunc) << bytes;
    const int status = reads_all_rows_in_a_child();
    EXPECT_FALSE(WIFSIGNALED(status)) << "killed by signal " << WTERMSIG(status) << " after rewriting to "
                                      << bytes.size() << " bytes";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << bytes.size();
  }
  EXPECT_EQ(t->Lookup(Value::String("k42"), 1).str, "name-42");
}

// The compiled form is the table's memory; the limit refuses it before the copy is made.
TEST_F(CompiledTableTest, MemoryLimit) {
  ASSERT_TRUE(Csv(kStores)->WriteCompiled(out_).ok());
  const size_t file_size = fs::file_size(out_);
  TableLimits limits;
  limits.max_memory_bytes = file_size;
  Diagnostics d;
  auto t = Table::LoadFile(out_, "id", d, limits);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->memory_bytes(), file_size);
  limits.max_memory_bytes = file_size - 1;
  EXPECT_FALSE(Table::LoadFile(out_, "id", d, limits));
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(FormatDiagnosticLine(d.items()[0]),
            out_ + ": error: compiled table: " + TableMemoryLimitMessage(file_size - 1));
}

// A reload over the limit is rejected with the file's name; the old table stays.
TEST_F(CompiledTableTest, RegistryRejectsAReloadOverTheMemoryLimit) {
  const std::string path = dir_ + "/customers.csv";
  std::ofstream(path) << "id,tier\nc1,gold\n";
  TableLimits limits;
  limits.max_memory_bytes = 4000;
  TableRegistry reg;
  Diagnostics d;
  ASSERT_EQ(reg.Add("customers", path, "id", d, limits), 0);
  std::string big = "id,tier\n";
  for (int i = 0; i < 200; ++i) big += "c" + std::to_string(i) + ",silver\n";
  std::ofstream(path + ".tmp") << big;
  fs::rename(path + ".tmp", path);
  reg.Poll();
  auto r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(r[0].event.message.find(path + ":"), std::string::npos) << r[0].event.message;
  EXPECT_NE(r[0].event.message.find(TableMemoryLimitMessage(4000)), std::string::npos)
      << r[0].event.message;
  EXPECT_EQ(reg.Current()->at(0)->Lookup(Value::String("c1"), 1).str, "gold");
}

}  // namespace
}  // namespace tailor
