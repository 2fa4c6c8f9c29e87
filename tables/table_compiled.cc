// The compiled table file (`tailorc table compile`): the in-memory layout of a Table written
// out, so a large table loads with one read and a check instead of a parse. The file is read
// into memory the table owns, never mapped: with a mapping, a file rewritten in place after
// the check would change what lookups read (offsets no longer checked), and a truncated one
// would raise SIGBUS in the worker.
//
// Layout (little-endian, sections 8-byte aligned):
//   Header (64 bytes) | schema | slots (nslots x 16) | row offsets (rows x 8) | blob
// The checksum (XXH3-64 of everything after the header) catches truncation and damage; the
// structural check after it makes even a crafted file safe to look up in.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <new>

#include "tables/table.h"

namespace tailor {
namespace {

constexpr char kMagic[8] = {'T', 'A', 'I', 'L', 'O', 'R', 'T', '1'};
constexpr uint32_t kVersion = 1;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t ncols;
  uint64_t rows;
  int32_t key_column;
  uint32_t reserved;
  uint64_t nslots;
  uint64_t schema_bytes;
  uint64_t blob_bytes;
  uint64_t checksum;
};
static_assert(sizeof(Header) == 64);

uint64_t Pad8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

uint8_t TypeCode(ValueType t) {
  return t == ValueType::kNumber ? 1 : t == ValueType::kBool ? 2 : 0;
}

}  // namespace

bool IsCompiledTable(std::string_view first_bytes) {
  return first_bytes.size() >= 8 && std::memcmp(first_bytes.data(), kMagic, 8) == 0;
}

Status Table::WriteCompiled(const std::string& path) const {
  std::string schema;
  for (const TableColumn& c : columns_) {
    schema.push_back(static_cast<char>(TypeCode(c.type)));
    schema.push_back(c.declared ? 1 : 0);
    const uint16_t n = static_cast<uint16_t>(c.name.size());
    schema.append(reinterpret_cast<const char*>(&n), 2);
    schema.append(c.name);
  }
  schema.resize(Pad8(schema.size()), '\0');
  std::string body = schema;
  body.append(reinterpret_cast<const char*>(slots_.data()), slots_.size_bytes());
  body.append(reinterpret_cast<const char*>(row_offset_.data()), row_offset_.size_bytes());
  body.append(blob_);
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.ncols = static_cast<uint32_t>(columns_.size());
  h.rows = rows_;
  h.key_column = key_column_;
  h.nslots = slots_.size();
  h.schema_bytes = schema.size();
  h.blob_bytes = blob_.size();
  h.checksum = XXH3_64bits(body.data(), body.size());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    if (!out) return Status::Error(tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::Error(path + ": " + std::strerror(errno));
  return Status::Ok();
}

namespace {

struct FileCopy {
  std::shared_ptr<const uint64_t[]> words;  // 8-byte aligned, as the sections need
  size_t size = 0;
};

bool SameVersion(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// Reads the whole file into private memory. A version that changes while it is read (its
// size or mtime moved, it ended early or grew) is read again; after a few tries the load
// fails. The copy is what gets validated and served, so a later write, truncation or `cp`
// over the file cannot change it.
Result<FileCopy> ReadStableCopy(const std::string& path, const TableLimits& limits) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  for (int attempt = 0; attempt < 3; ++attempt) {
    struct stat before, after;
    if (::fstat(fd, &before) != 0) return Status::Error(std::string("cannot stat: ") + std::strerror(errno));
    if (before.st_size < static_cast<off_t>(sizeof(Header))) return Status::Error("truncated (no header)");
    const uint64_t size = static_cast<uint64_t>(before.st_size);
    if (size > limits.max_file_bytes)
      return Status::Error("the file is larger than " + std::to_string(limits.max_file_bytes >> 20) + " MiB");
    // The copy is the table's memory: refuse before allocating it.
    if (size > limits.max_memory_bytes) return Status::Error(TableMemoryLimitMessage(limits.max_memory_bytes));
    std::shared_ptr<uint64_t[]> words(new (std::nothrow) uint64_t[(size + 7) / 8]);
    if (words == nullptr) return Status::Error("out of memory for " + std::to_string(size) + " bytes");
    char* buf = reinterpret_cast<char*>(words.get());
    uint64_t got = 0;
    bool changed = false;
    while (got < size) {
      const ssize_t n = ::pread(fd, buf + got, size - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Error(std::string("cannot read: ") + std::strerror(errno));
      if (n == 0) {  // shorter than it was a moment ago
        changed = true;
        break;
      }
      got += static_cast<uint64_t>(n);
    }
    char extra;
    if (!changed) changed = ::pread(fd, &extra, 1, static_cast<off_t>(size)) > 0;  // it grew
    if (!changed) changed = ::fstat(fd, &after) != 0 || !SameVersion(before, after);
    if (!changed) return FileCopy{std::move(words), static_cast<size_t>(size)};
  }
  return Status::Error("the file kept changing while it was read");
}

}  // namespace

std::shared_ptr<const Table> Table::LoadCompiled(const std::string& path,
                                                 std::string_view key_column, Diagnostics& diags,
                                                 const TableLimits& limits) {
  auto fail = [&](const std::string& why) -> std::shared_ptr<const Table> {
    diags.Error(path, 0, 0, "compiled table: " + why);
    return nullptr;
  };
  Result<FileCopy> copy = ReadStableCopy(path, limits);
  if (!copy.ok()) return fail(copy.status().message());
  const size_t size = copy.value().size;
  const char* base = reinterpret_cast<const char*>(copy.value().words.get());

  Header h;
  std::memcpy(&h, base, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) return fail("not a compiled table");
  if (h.version != kVersion) return fail("version " + std::to_string(h.version) + ", expected 1");
  if (h.ncols == 0 || h.ncols > 256) return fail("bad column count");
  if (h.key_column < 0 || static_cast<uint32_t>(h.key_column) >= h.ncols) return fail("bad key column");
  if (h.nslots < 16 || (h.nslots & (h.nslots - 1)) != 0 || h.nslots > (uint64_t{1} << 40) ||
      h.rows >= h.nslots || h.schema_bytes % 8 != 0)
    return fail("bad index size");
  // Sizes are bounded above, so these sums cannot overflow.
  if (h.schema_bytes > size || h.blob_bytes > size || h.rows > size) return fail("truncated");
  const uint64_t need = sizeof(Header) + h.schema_bytes + h.nslots * 16 + h.rows * 8 + h.blob_bytes;
  if (need != size) return fail("truncated or has trailing bytes (" + std::to_string(size) +
                                " bytes, the header says " + std::to_string(need) + ")");
  if (XXH3_64bits(base + sizeof(Header), size - sizeof(Header)) != h.checksum)
    return fail("checksum mismatch (damaged file)");

  std::shared_ptr<Table> t(new Table());
  t->file_ = path;
  t->rows_ = h.rows;
  t->key_column_ = h.key_column;
  const char* p = base + sizeof(Header);
  const char* schema_end = p + h.schema_bytes;
  for (uint32_t c = 0; c < h.ncols; ++c) {
    if (schema_end - p < 4) return fail("bad schema");
    TableColumn col;
    const uint8_t type = static_cast<uint8_t>(p[0]);
    col.type = type == 1 ? ValueType::kNumber : type == 2 ? ValueType::kBool : ValueType::kString;
    if (type > 2) return fail("bad column type");
    col.declared = p[1] != 0;
    uint16_t n;
    std::memcpy(&n, p + 2, 2);
    p += 4;
    if (schema_end - p < n) return fail("bad schema");
    col.name.assign(p, n);
    p += n;
    if (!ValidTableColumnName(col.name) || t->ColumnIndex(col.name) >= 0) return fail("bad column name");
    t->columns_.push_back(std::move(col));
  }
  if (t->columns_[h.key_column].name != key_column)
    return fail("keyed by '" + t->columns_[h.key_column].name + "', not '" + std::string(key_column) + "'");
  const char* slots = base + sizeof(Header) + h.schema_bytes;
  const char* offsets = slots + h.nslots * 16;
  const char* blob = offsets + h.rows * 8;
  // Spans over the copy (sections are 8-byte aligned, and so is the copy).
  t->slots_ = std::span<const Slot>(reinterpret_cast<const Slot*>(slots), h.nslots);
  t->row_offset_ = std::span<const uint64_t>(reinterpret_cast<const uint64_t*>(offsets), h.rows);
  t->blob_ = std::string_view(blob, h.blob_bytes);
  t->file_copy_ = std::move(copy).value().words;
  t->file_copy_bytes_ = size;

  // Every row record and cell reference in bounds.
  const uint64_t ncols = h.ncols;
  for (uint64_t r = 0; r < h.rows; ++r) {
    const uint64_t off = t->row_offset_[r];
    if (off > h.blob_bytes || h.blob_bytes - off < 8 * (1 + ncols)) return fail("row record out of bounds");
    const uint64_t avail = h.blob_bytes - off;
    uint64_t ref;
    std::memcpy(&ref, blob + off, 8);
    if ((ref >> 32) + (ref & 0xFFFFFFFFu) > avail) return fail("key out of bounds");
    for (uint64_t c = 0; c < ncols; ++c) {
      uint64_t cell;
      std::memcpy(&cell, blob + off + 8 * (1 + c), 8);
      const ValueType type = t->columns_[c].type;
      if (type == ValueType::kBool && cell > 2) return fail("bad bool cell");
      if (type == ValueType::kString && cell != ~uint64_t{0} &&
          (cell >> 32) + (cell & 0xFFFFFFFFu) > avail)
        return fail("string cell out of bounds");
    }
  }
  // Every slot: empty, or a row with the same record; and at least one empty slot, so a probe
  // for an absent key ends.
  uint64_t used = 0;
  for (const Slot& s : t->slots_) {
    if (s.row1 == 0) continue;
    if (s.row1 > h.rows || s.row_offset != t->row_offset_[s.row1 - 1]) return fail("bad index slot");
    ++used;
  }
  if (used != h.rows || used >= h.nslots) return fail("bad index");
  t->Publish(/*owned=*/false);
  return t;
}

std::shared_ptr<const Table> Table::LoadFile(const std::string& path, std::string_view key_column,
                                             Diagnostics& diags, const TableLimits& limits) {
  char head[8] = {};
  {
    std::ifstream in(path, std::ios::binary);
    in.read(head, sizeof head);
  }
  if (IsCompiledTable(std::string_view(head, sizeof head)))
    return LoadCompiled(path, key_column, diags, limits);
  return LoadCsv(path, key_column, diags, limits);
}

}  // namespace tailor
