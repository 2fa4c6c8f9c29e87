// Value: what a signal or expression yields. Strings and lists are views into the request,
// the per-request arena, or immutable config-time data; a Value never owns memory.
#pragma once

#include <span>
#include <string_view>

namespace tailor {

enum class ValueType : unsigned char { kMissing, kBool, kNumber, kString, kStringList };

const char* ValueTypeName(ValueType t);  // "missing", "bool", "number", "string", "string list"

struct Value {
  ValueType type = ValueType::kMissing;
  bool boolean = false;
  double number = 0;
  std::string_view str;
  std::span<const std::string_view> list;

  static Value Missing() { return {}; }
  static Value Bool(bool b) {
    Value v;
    v.type = ValueType::kBool;
    v.boolean = b;
    return v;
  }
  static Value Number(double n) {
    Value v;
    v.type = ValueType::kNumber;
    v.number = n;
    return v;
  }
  static Value String(std::string_view s) {
    Value v;
    v.type = ValueType::kString;
    v.str = s;
    return v;
  }
  static Value List(std::span<const std::string_view> l) {
    Value v;
    v.type = ValueType::kStringList;
    v.list = l;
    return v;
  }
  bool missing() const { return type == ValueType::kMissing; }
};

}  // namespace tailor
