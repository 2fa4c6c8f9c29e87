// tailorc table check FILE --key COLUMN [--lookup KEY]...: loads a table (CSV or compiled) as
// the server would, prints its schema (declared or inferred types) or its FILE:LINE errors,
// and optionally looks keys up. Exit 0 when the table loads, 1 when it has errors.
// tailorc table compile FILE.csv --key COLUMN -o OUT: writes the compiled form (loaded without parsing).
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "tables/table.h"

namespace tailor::cli {
namespace {

extern const Command kTable;

void PrintValue(const Value& v) {
  switch (v.type) {
    case ValueType::kMissing: std::printf("(missing)"); break;
    case ValueType::kBool: std::printf("%s", v.boolean ? "true" : "false"); break;
    case ValueType::kNumber: {
      char buf[32];
      std::string_view s = FormatNumber(v.number, buf);
      std::printf("%.*s", static_cast<int>(s.size()), s.data());
      break;
    }
    default: std::printf("\"%.*s\"", static_cast<int>(v.str.size()), v.str.data());
  }
}

int Run(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "check" && args[0] != "compile"))
    return UsageError(kTable, "expected 'check' or 'compile'");
  const bool compile = args[0] == "compile";
  std::string file, key, out;
  std::vector<std::string> lookups;
  // After the subcommand; a flag without its value is taken as any other argument.
  int status = Args(kTable)
                   .Flag("--key", "", &key)
                   .Repeated("--lookup", "", &lookups)
                   .Flag("-o", "", &out)
                   .Other([&](const std::string& a) {
                     if (!file.empty() || a.rfind("--", 0) == 0)
                       return UsageError(kTable, "unexpected argument \"" + a + "\"");
                     file = a;
                     return 0;
                   })
                   .Parse(args, 1);
  if (status != 0) return status;
  if (file.empty() || key.empty()) return UsageError(kTable, "FILE and --key COLUMN are required");
  if (compile && out.empty()) return UsageError(kTable, "compile needs -o OUT");
  Diagnostics diags;
  auto t = Table::LoadFile(file, key, diags);
  for (const Diagnostic& d : diags.items()) std::fprintf(stderr, "%s\n", FormatDiagnosticLine(d).c_str());
  if (t == nullptr) return 1;
  if (compile) {
    Status st = t->WriteCompiled(out);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    std::printf("%s: %zu rows -> %s\n", file.c_str(), t->row_count(), out.c_str());
    return 0;
  }
  std::printf("%s: %zu rows, key column '%s'\n", file.c_str(), t->row_count(), key.c_str());
  for (const TableColumn& c : t->columns())
    std::printf("  %-24s %-7s %s\n", c.name.c_str(), ValueTypeName(c.type),
                c.declared ? "(declared)" : "(inferred)");
  if (t->lat_column() >= 0 && t->lon_column() >= 0) std::printf("  has coordinates: geo.nearest() can use it\n");
  for (const std::string& k : lookups) {
    int64_t row = t->FindRow(k);
    std::printf("%s:", k.c_str());
    if (row < 0) {
      std::printf(" (no row)\n");
      continue;
    }
    for (size_t c = 0; c < t->columns().size(); ++c) {
      std::printf(" %s=", t->columns()[c].name.c_str());
      PrintValue(t->Cell(row, static_cast<int>(c)));
    }
    std::printf("\n");
  }
  return 0;
}

const Command kTable = {"table",
                        "table check|compile FILE --key COLUMN [--lookup KEY]... [-o OUT]",
                        "check a table (schema or FILE:LINE errors) or compile it to a file loaded without parsing",
                        Run};

}  // namespace
static CommandRegistrar tailorc_command_table(kTable);
}  // namespace tailor::cli
