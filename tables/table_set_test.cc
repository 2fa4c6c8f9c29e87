#include "tables/table_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tailor {
namespace {

namespace fs = std::filesystem;

class TableRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/tables-" + std::to_string(getpid());
    fs::create_directories(dir_);
    path_ = dir_ + "/customers.csv";
    Write("id,tier\nc1,gold\nc2,silver\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Atomic replace, as deployment tools do (a new inode each time).
  void Write(const std::string& text) {
    std::ofstream(path_ + ".tmp") << text;
    fs::rename(path_ + ".tmp", path_);
  }
  std::string Tier(const TableSet& s, const char* key) {
    const Table* t = s.at(s.Find("customers"));
    Value v = t->Lookup(Value::String(key), t->ColumnIndex("tier"));
    return v.missing() ? "-" : std::string(v.str);
  }
  std::string dir_, path_;
};

TEST_F(TableRegistryTest, LoadsSwapsAndRejects) {
  TableRegistry reg;
  Diagnostics d;
  ASSERT_EQ(reg.Add("customers", path_, "id", d), 0);
  EXPECT_EQ(reg.Add("customers", path_, "id", d), -1);  // declared twice
  EXPECT_EQ(d.error_count(), 1u);
  auto held = reg.Current();
  EXPECT_EQ(Tier(*held, "c1"), "gold");

  Write("id,tier\nc1,platinum\nc3,bronze\n");
  auto r = reg.Wait();
  if (r.empty()) reg.Poll(), r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kSwapped);
  EXPECT_EQ(Tier(*reg.Current(), "c1"), "platinum");
  EXPECT_EQ(Tier(*held, "c1"), "gold");  // a request holding the old snapshot

  Write("id,tier\nc1,gold\nc1,again\n");  // a bad row
  reg.Poll();
  r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(r[0].event.message.find(path_ + ":3: error: duplicate key 'c1'"), std::string::npos)
      << r[0].event.message;
  EXPECT_EQ(Tier(*reg.Current(), "c1"), "platinum");

  Write("id,tier:number\nc1,1\n");  // the rules were compiled against tier:string
  reg.Poll();
  r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(r[0].event.message.find("changed type"), std::string::npos) << r[0].event.message;

  Write("id,tier,extra\nc9,new,1\n");  // an added column is fine
  reg.Poll();
  r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kSwapped);
  EXPECT_EQ(Tier(*reg.Current(), "c9"), "new");
  EXPECT_TRUE(reg.Poll().empty());
}

// The rules keep column positions of the first version; a reload binds them by name.
TEST_F(TableRegistryTest, ReloadsBindColumnsByName) {
  Write("id,tier,spend:number\nc1,gold,10\n");
  TableRegistry reg;
  Diagnostics d;
  ASSERT_EQ(reg.Add("customers", path_, "id", d), 0);
  const int tier = reg.schema(0)->ColumnIndex("tier");
  const int spend = reg.schema(0)->ColumnIndex("spend");
  ASSERT_EQ(tier, 1);
  auto cell = [&](int schema_column, const char* key) {
    const TableSet& s = *reg.Current();
    return s.at(0)->Lookup(Value::String(key), s.column(0, schema_column));
  };
  auto reload = [&](const std::string& text) {
    Write(text);
    reg.Poll();
    auto r = reg.Wait();
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? ReloadEvent{} : r[0].event;
  };
  EXPECT_EQ(cell(tier, "c1").str, "gold");

  // Reordered columns.
  EXPECT_EQ(reload("spend:number,tier,id\n20,silver,c1\n").outcome, ReloadOutcome::kSwapped);
  EXPECT_EQ(cell(tier, "c1").str, "silver");
  EXPECT_EQ(cell(spend, "c1").number, 20);
  // A column inserted before the used ones.
  EXPECT_EQ(reload("id,region,tier,spend:number\nc1,eu,platinum,30\n").outcome,
            ReloadOutcome::kSwapped);
  EXPECT_EQ(cell(tier, "c1").str, "platinum");
  EXPECT_EQ(cell(spend, "c1").number, 30);

  // A removed column, a changed type: rejected, the last good version stays.
  ReloadEvent ev = reload("id,spend:number\nc1,40\n");
  EXPECT_EQ(ev.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(ev.message.find(path_ + ": column 'tier' was removed"), std::string::npos) << ev.message;
  ev = reload("tier:number,id,spend:number\n1,c1,50\n");
  EXPECT_EQ(ev.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(ev.message.find("column 'tier' changed type from string to number"), std::string::npos)
      << ev.message;
  EXPECT_EQ(cell(tier, "c1").str, "platinum");
  EXPECT_EQ(cell(spend, "c1").number, 30);
  EXPECT_EQ(reg.Current()->column(0, 99), -1);
}

TEST_F(TableRegistryTest, AFileThatDisappearsKeepsTheTable) {
  TableRegistry reg;
  Diagnostics d;
  ASSERT_EQ(reg.Add("customers", path_, "id", d), 0);
  fs::remove(path_);
  auto r = reg.Poll();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(r[0].event.message.find("No such file"), std::string::npos) << r[0].event.message;
  EXPECT_TRUE(reg.Poll().empty());  // reported once
  EXPECT_EQ(Tier(*reg.Current(), "c1"), "gold");
  Write("id,tier\nc1,back\n");
  reg.Poll();
  r = reg.Wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].event.outcome, ReloadOutcome::kSwapped);
  EXPECT_EQ(Tier(*reg.Current(), "c1"), "back");
}

TEST_F(TableRegistryTest, ConfigTimeErrorsCarryLines) {
  Write("id,tier\nc1,gold,x\n");
  TableRegistry reg;
  Diagnostics d;
  EXPECT_EQ(reg.Add("customers", path_, "id", d), -1);
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(FormatDiagnosticLine(d.items()[0]),
            path_ + ":2: error: this row has 3 fields, the header has 2");
  Diagnostics m;
  EXPECT_EQ(reg.Add("x", dir_ + "/missing.csv", "id", m), -1);
  EXPECT_NE(FormatDiagnosticLine(m.items()[0]).find("missing.csv: error: cannot read"), std::string::npos);
}

}  // namespace
}  // namespace tailor
