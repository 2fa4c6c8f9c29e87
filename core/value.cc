#include "core/value.h"

namespace tailor {

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kMissing: return "missing";
    case ValueType::kBool: return "bool";
    case ValueType::kNumber: return "number";
    case ValueType::kString: return "string";
    case ValueType::kStringList: return "string list";
  }
  return "missing";
}

}  // namespace tailor
