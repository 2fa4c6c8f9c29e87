#include "geo/mmdb_data.h"

#include <cstring>

namespace tailor::mmdb {

bool DataReader::Header(uint32_t off, Entry* e, uint32_t* next) const {
  if (off >= size_) return false;
  const uint8_t ctrl = data_[off++];
  unsigned type = ctrl >> 5;
  if (type == static_cast<unsigned>(Type::kPointer)) {
    const unsigned ss = (ctrl >> 3) & 3;
    const uint32_t vvv = ctrl & 7;
    if (size_ - off < ss + 1) return false;
    const uint8_t* b = data_ + off;
    uint32_t p = 0;
    switch (ss) {
      case 0: p = (vvv << 8) | b[0]; break;
      case 1: p = ((vvv << 16) | (uint32_t{b[0]} << 8) | b[1]) + 2048; break;
      case 2: p = ((vvv << 24) | (uint32_t{b[0]} << 16) | (uint32_t{b[1]} << 8) | b[2]) + 526336;
        break;
      default:
        p = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    }
    if (p >= size_) return false;
    e->type = Type::kPointer;
    e->size = 0;
    e->payload = p;
    *next = off + ss + 1;
    return true;
  }
  if (type == 0) {  // extended type: 7 + the next byte
    if (off >= size_) return false;
    type = 7u + data_[off++];
    if (type < 8 || type > 15) return false;
  }
  uint32_t size = ctrl & 31;
  if (size >= 29) {
    const unsigned extra = size - 28;  // 1, 2 or 3 bytes
    if (size_ - off < extra) return false;
    const uint8_t* b = data_ + off;
    if (extra == 1) size = 29 + b[0];
    else if (extra == 2) size = 285 + ((uint32_t{b[0]} << 8) | b[1]);
    else size = 65821 + ((uint32_t{b[0]} << 16) | (uint32_t{b[1]} << 8) | b[2]);
    off += extra;
  }
  e->type = static_cast<Type>(type);
  e->size = size;
  e->payload = off;
  uint32_t payload_bytes = 0;
  switch (e->type) {
    case Type::kMap:
    case Type::kArray:
      // Every element takes at least one byte: a count larger than the rest of the
      // section is corrupt (and would make loops long).
      if (size > size_ - off) return false;
      *next = off;
      return true;
    case Type::kBool:
      if (size > 1) return false;
      *next = off;
      return true;
    case Type::kString:
    case Type::kBytes: payload_bytes = size; break;
    case Type::kDouble: if (size != 8) return false; payload_bytes = 8; break;
    case Type::kFloat: if (size != 4) return false; payload_bytes = 4; break;
    case Type::kUint16: if (size > 2) return false; payload_bytes = size; break;
    case Type::kUint32:
    case Type::kInt32: if (size > 4) return false; payload_bytes = size; break;
    case Type::kUint64: if (size > 8) return false; payload_bytes = size; break;
    case Type::kUint128: if (size > 16) return false; payload_bytes = size; break;
    default: return false;  // data cache containers and end markers never appear in records
  }
  if (payload_bytes > size_ - off) return false;
  *next = off + payload_bytes;
  return true;
}

bool DataReader::Resolve(uint32_t off, Entry* e, uint32_t* next) const {
  if (!Header(off, e, next)) return false;
  if (e->type != Type::kPointer) return true;
  uint32_t ignored;
  if (!Header(e->payload, e, &ignored)) return false;
  return e->type != Type::kPointer;  // a pointer to a pointer is invalid (and could loop)
}

bool DataReader::Skip(uint32_t off, uint32_t* next, int depth) const {
  if (depth > kMaxDepth) return false;
  Entry e;
  uint32_t cur;
  if (!Header(off, &e, &cur)) return false;
  if (e.type == Type::kMap || e.type == Type::kArray) {
    const uint64_t items = e.type == Type::kMap ? uint64_t{e.size} * 2 : e.size;
    for (uint64_t i = 0; i < items; ++i) {
      if (!Skip(cur, &cur, depth + 1)) return false;
    }
  }
  *next = cur;
  return true;
}

bool DataReader::FindKey(const Entry& map, std::string_view key, Entry* value) const {
  if (map.type != Type::kMap) return false;
  uint32_t cur = map.payload;
  for (uint32_t i = 0; i < map.size; ++i) {
    Entry k;
    uint32_t after_key;
    if (!Resolve(cur, &k, &after_key) || k.type != Type::kString) return false;
    if (k.size == key.size() && std::memcmp(data_ + k.payload, key.data(), key.size()) == 0) {
      uint32_t ignored;
      return Resolve(after_key, value, &ignored);
    }
    if (!Skip(after_key, &cur)) return false;
  }
  return false;
}

bool DataReader::ArrayElement(const Entry& array, uint32_t index, Entry* value) const {
  if (array.type != Type::kArray || index >= array.size) return false;
  uint32_t cur = array.payload;
  for (uint32_t i = 0; i < index; ++i) {
    if (!Skip(cur, &cur)) return false;
  }
  uint32_t ignored;
  return Resolve(cur, value, &ignored);
}

bool DataReader::Path(uint32_t off, std::initializer_list<std::string_view> path,
                      Entry* value) const {
  Entry cur;
  uint32_t ignored;
  if (!Resolve(off, &cur, &ignored)) return false;
  for (std::string_view key : path) {
    Entry next;
    if (!key.empty() && key[0] == '#') {
      uint32_t index = 0;
      for (char c : key.substr(1)) index = index * 10 + static_cast<uint32_t>(c - '0');
      if (!ArrayElement(cur, index, &next)) return false;
    } else if (!FindKey(cur, key, &next)) {
      return false;
    }
    cur = next;
  }
  *value = cur;
  return true;
}

bool DataReader::AsString(const Entry& e, std::string_view* s) const {
  if (e.type != Type::kString) return false;
  *s = std::string_view(reinterpret_cast<const char*>(data_ + e.payload), e.size);
  return true;
}

bool DataReader::AsNumber(const Entry& e, double* d) const {
  const uint8_t* b = data_ + e.payload;
  switch (e.type) {
    case Type::kDouble: {
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
      std::memcpy(d, &bits, 8);
      return true;
    }
    case Type::kFloat: {
      uint32_t bits = 0;
      for (int i = 0; i < 4; ++i) bits = (bits << 8) | b[i];
      float f;
      std::memcpy(&f, &bits, 4);
      *d = f;
      return true;
    }
    case Type::kUint16:
    case Type::kUint32:
    case Type::kUint64:
    case Type::kUint128: {
      double v = 0;
      for (uint32_t i = 0; i < e.size; ++i) v = v * 256 + b[i];
      *d = v;
      return true;
    }
    case Type::kInt32: {
      uint32_t bits = 0;
      for (uint32_t i = 0; i < e.size; ++i) bits = (bits << 8) | b[i];
      // A short int32 is zero-extended (spec); a full 4-byte one is two's complement.
      *d = e.size == 4 ? static_cast<double>(static_cast<int32_t>(bits)) : bits;
      return true;
    }
    default: return false;
  }
}

bool DataReader::AsBool(const Entry& e, bool* b) const {
  if (e.type != Type::kBool) return false;
  *b = e.size != 0;
  return true;
}

bool DataReader::Validate(uint32_t off, std::unordered_set<uint32_t>* validated,
                          std::string* why) const {
  uint32_t next;
  return ValidateAt(off, 0, &next, validated, why);
}

bool DataReader::ValidateAt(uint32_t off, int depth, uint32_t* next,
                            std::unordered_set<uint32_t>* validated, std::string* why) const {
  auto fail = [&](const char* what) {
    *why = std::string(what) + " at data offset " + std::to_string(off);
    return false;
  };
  if (depth > kMaxDepth) return fail("nesting deeper than 32 levels (or a pointer cycle)");
  Entry e;
  if (!Header(off, &e, next)) return fail("malformed or out-of-bounds item");
  switch (e.type) {
    case Type::kPointer: {
      if (validated->count(e.payload)) return true;
      Entry target;
      uint32_t ignored;
      if (!Header(e.payload, &target, &ignored)) return fail("pointer to a malformed item");
      if (target.type == Type::kPointer) return fail("pointer to a pointer");
      if (!ValidateAt(e.payload, depth + 1, &ignored, validated, why)) return false;
      validated->insert(e.payload);
      return true;
    }
    case Type::kString:
      if (!IsValidUtf8(std::string_view(reinterpret_cast<const char*>(data_ + e.payload), e.size)))
        return fail("invalid UTF-8 in a string");
      return true;
    case Type::kMap:
    case Type::kArray: {
      uint32_t cur = *next;
      for (uint32_t i = 0; i < e.size; ++i) {
        if (e.type == Type::kMap) {
          Entry key;
          uint32_t after_key;
          if (!Resolve(cur, &key, &after_key) || key.type != Type::kString) {
            off = cur;
            return fail("map key that is not a string");
          }
          if (!IsValidUtf8(std::string_view(reinterpret_cast<const char*>(data_ + key.payload),
                                            key.size))) {
            off = cur;
            return fail("invalid UTF-8 in a map key");
          }
          cur = after_key;
        }
        if (!ValidateAt(cur, depth + 1, &cur, validated, why)) return false;
      }
      *next = cur;
      return true;
    }
    default: return true;  // scalars: Header checked the size
  }
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) { ++p; continue; }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += n + 1;
  }
  return true;
}

}  // namespace tailor::mmdb
