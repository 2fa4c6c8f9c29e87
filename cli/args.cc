#include "cli/args.h"

#include <utility>

namespace tailor::cli {

Args& Args::Flag(std::string name, std::string missing, Handler set) {
  specs_.push_back({std::move(name), "", std::move(missing), true, std::move(set)});
  return *this;
}

Args& Args::Flag(std::string name, std::string missing, std::string* out) {
  return Flag(std::move(name), std::move(missing), [out](const std::string& v) {
    *out = v;
    return 0;
  });
}

Args& Args::Repeated(std::string name, std::string missing, std::vector<std::string>* out) {
  return Flag(std::move(name), std::move(missing), [out](const std::string& v) {
    out->push_back(v);
    return 0;
  });
}

Args& Args::Switch(std::string name, std::string alias, bool* on) {
  specs_.push_back({std::move(name), std::move(alias), "", false, [on](const std::string&) {
                      *on = true;
                      return 0;
                    }});
  return *this;
}

Args& Args::Other(Handler other) {
  other_ = std::move(other);
  return *this;
}

int Args::Parse(const std::vector<std::string>& args, size_t first) const {
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    const Spec* spec = nullptr;
    for (const Spec& s : specs_) {
      if (a != s.name && (s.alias.empty() || a != s.alias)) continue;
      if (s.takes_value && i + 1 >= args.size() && s.missing.empty()) continue;
      spec = &s;
      break;
    }
    int status = 0;
    if (spec == nullptr) {
      status = other_ ? other_(a) : Usage("unexpected argument \"" + a + "\"");
    } else if (!spec->takes_value) {
      status = spec->set(a);
    } else if (i + 1 >= args.size()) {
      status = Usage(spec->missing);
    } else {
      status = spec->set(args[++i]);
    }
    if (status != 0) return status;
  }
  return 0;
}

}  // namespace tailor::cli
