// The comparison operators on Values, shared by the evaluator and the compiler's constant
// folding. A missing operand makes every comparison false (also `!=` and `not in`): a missing
// signal never selects a rule by accident; `exists()` tests for it.
#pragma once

#include <cstring>

#include "core/text.h"
#include "core/value.h"
#include "rules/compiled.h"

namespace tailor {

inline bool CompareValues(CmpOp op, bool ci, const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  int c = 0;
  switch (a.type) {
    case ValueType::kString:
      if (op == CmpOp::kEq || op == CmpOp::kNe) {  // lengths first: most tests differ there
        bool eq = ci ? EqualsIgnoreCase(a.str, b.str)
                     : a.str.size() == b.str.size() &&
                           (a.str.empty() || std::memcmp(a.str.data(), b.str.data(), a.str.size()) == 0);
        return eq == (op == CmpOp::kEq);
      }
      c = a.str.compare(b.str);
      break;
    case ValueType::kNumber:
      if (a.number != a.number || b.number != b.number) return false;  // NaN
      c = a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
      break;
    case ValueType::kBool:
      c = static_cast<int>(a.boolean) - static_cast<int>(b.boolean);
      break;
    default:
      return false;
  }
  switch (op) {
    case CmpOp::kEq: return c == 0;
    case CmpOp::kNe: return c != 0;
    case CmpOp::kLt: return c < 0;
    case CmpOp::kLe: return c <= 0;
    case CmpOp::kGt: return c > 0;
    case CmpOp::kGe: return c >= 0;
  }
  return false;
}

inline bool StrOpMatch(StrOp op, bool ci, std::string_view s, std::string_view arg) {
  switch (op) {
    case StrOp::kStartsWith:
      return ci ? StartsWithIgnoreCase(s, arg) : s.substr(0, arg.size()) == arg;
    case StrOp::kEndsWith:
      return ci ? EndsWithIgnoreCase(s, arg)
                : s.size() >= arg.size() && s.substr(s.size() - arg.size()) == arg;
    case StrOp::kContains:
      return ci ? ContainsIgnoreCase(s, arg) : s.find(arg) != std::string_view::npos;
  }
  return false;
}

// Every leaf but kMatches (which needs the regex scan) and the junctions.
inline bool EvalLeaf(const Node& n, const Value& a, const Value& b, const Value& c,
                     const ValueSet* set) {
  switch (n.op) {
    case Op::kConst: return n.constant;
    case Op::kTruthy: return a.type == ValueType::kBool && a.boolean;
    case Op::kExists: return !a.missing();
    case Op::kCompare:
      if (a.missing() || b.missing()) return false;
      return CompareValues(n.cmp, n.ci, a, b);
    case Op::kBetween:
      if (a.missing() || b.missing() || c.missing()) return false;
      return CompareValues(CmpOp::kGe, false, a, b) && CompareValues(CmpOp::kLe, false, a, c);
    case Op::kInSet: {
      bool found = false;
      switch (a.type) {
        case ValueType::kString: found = set->Contains(a.str); break;
        case ValueType::kNumber: found = set->Contains(a.number); break;
        case ValueType::kStringList:
          for (std::string_view s : a.list)
            if (set->Contains(s)) {
              found = true;
              break;
            }
          break;
        default: return false;  // missing (or a mistyped signal): false, also for `not in`
      }
      return found != n.negated;
    }
    case Op::kStrOp:
      if (b.type != ValueType::kString) return false;
      if (a.type == ValueType::kString) return StrOpMatch(n.str_op, n.ci, a.str, b.str);
      if (a.type == ValueType::kStringList && n.str_op == StrOp::kContains) {
        for (std::string_view s : a.list)
          if (n.ci ? EqualsIgnoreCase(s, b.str) : s == b.str) return true;
      }
      return false;
    default: return false;
  }
}

}  // namespace tailor
