// MmdbData: a bounds-checked reader for a MaxMind DB data section. libmaxminddb finds the
// record (MMDB_lookup_sockaddr); this reader decodes it. It never trusts the file: every
// offset and size is checked against the section, recursion is limited, pointers are followed
// one level at a time (a pointer to a pointer is an error), and every loop consumes at least
// one byte, so no file can make a lookup crash or loop. No allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

namespace tailor::mmdb {

enum class Type : uint8_t {
  kPointer = 1, kString = 2, kDouble = 3, kBytes = 4, kUint16 = 5, kUint32 = 6, kMap = 7,
  kInt32 = 8, kUint64 = 9, kUint128 = 10, kArray = 11, kContainer = 12, kEndMarker = 13,
  kBool = 14, kFloat = 15
};

// One decoded item header. For scalars `payload` is the offset of the value bytes and `size`
// their length (for kBool: the value); for maps and arrays `size` is the element count and
// `payload` the offset of the first element; for pointers `payload` is the target.
struct Entry {
  Type type = Type::kMap;
  uint32_t size = 0;
  uint32_t payload = 0;
};

// The deepest in-place nesting the reader follows (GeoIP2 records nest 4 levels).
inline constexpr int kMaxDepth = 32;

class DataReader {
 public:
  DataReader() = default;
  DataReader(const uint8_t* data, uint32_t size) : data_(data), size_(size) {}

  // Decodes the header at `off` without following pointers; *next is the offset just after
  // the header (after the whole item for scalars and pointers).
  bool Header(uint32_t off, Entry* e, uint32_t* next) const;
  // The value at `off`, following one pointer; *next is the offset after the item at `off`
  // for scalars and pointers, after the header for in-place maps and arrays.
  bool Resolve(uint32_t off, Entry* e, uint32_t* next) const;
  // The offset after the whole item at `off` (pointers are not followed).
  bool Skip(uint32_t off, uint32_t* next, int depth = 0) const;

  // Map member `key` (the map must be resolved); false when absent or malformed.
  bool FindKey(const Entry& map, std::string_view key, Entry* value) const;
  // Array element `index` (the array must be resolved).
  bool ArrayElement(const Entry& array, uint32_t index, Entry* value) const;
  // Follows a path of map keys from the record at `off`; a key "#N" indexes an array.
  bool Path(uint32_t off, std::initializer_list<std::string_view> path, Entry* value) const;

  bool AsString(const Entry& e, std::string_view* s) const;
  bool AsNumber(const Entry& e, double* d) const;  // double, float, any integer (<= 2^64)
  bool AsBool(const Entry& e, bool* b) const;

  // Walks the whole value at `off` (maps, arrays, pointer targets) and checks every header,
  // size, pointer and UTF-8 string. `validated` memoizes pointer targets already checked so
  // shared sub-records are walked once. On failure, *why says what is wrong where.
  bool Validate(uint32_t off, std::unordered_set<uint32_t>* validated, std::string* why) const;

  uint32_t size() const { return size_; }

 private:
  bool ValidateAt(uint32_t off, int depth, uint32_t* next, std::unordered_set<uint32_t>* validated,
                  std::string* why) const;
  const uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
};

bool IsValidUtf8(std::string_view s);

}  // namespace tailor::mmdb
