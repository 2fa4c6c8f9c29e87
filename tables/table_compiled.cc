// The compiled table file (`tailorc table compile`): the in-memory layout of a Table written
// out, so a large table maps in instantly and is shared by every worker via the page cache.
//
// Layout (little-endian, sections 8-byte aligned):
//   Header (64 bytes) | schema | slots (nslots x 16) | row offsets (rows x 8) | blob
// The checksum (XXH3-64 of everything after the header) catches truncation and damage; the
// structural check after it makes even a crafted file safe to look up in.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

std::shared_ptr<const Table> Table::LoadCompiled(const std::string& path,
                                                 std::string_view key_column, Diagnostics& diags) {
  auto fail = [&](const std::string& why) -> std::shared_ptr<const Table> {
    diags.Error(path, 0, 0, "compiled table: " + why);
    return nullptr;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Header))) {
    ::close(fd);
    return fail("truncated (no header)");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return fail(std::string("cannot map: ") + std::strerror(errno));
  std::shared_ptr<const void> mapping(map, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  const char* base = static_cast<const char*>(map);

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
  // Spans over the mapping (sections are 8-byte aligned; mmap is page-aligned).
  t->slots_ = std::span<const Slot>(reinterpret_cast<const Slot*>(slots), h.nslots);
  t->row_offset_ = std::span<const uint64_t>(reinterpret_cast<const uint64_t*>(offsets), h.rows);
  t->blob_ = std::string_view(blob, h.blob_bytes);
  t->mapping_ = std::move(mapping);

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
  if (IsCompiledTable(std::string_view(head, sizeof head))) return LoadCompiled(path, key_column, diags);
  return LoadCsv(path, key_column, diags, limits);
}

}  // namespace tailor
