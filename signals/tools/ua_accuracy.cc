// ua-accuracy: measures DeviceClassifier against a labelled corpus of real User-Agents.
// Input (stdin or FILE): lines "LABEL<TAB>USER_AGENT", LABEL one of desktop, smartphone,
// tablet, tv, console, wearable, car, bot, other. Prints per-class accuracy, the overall
// share of correct UAs and the average over classes, and (with -v) each miss. It also
// reports the share of UAs the scan-free fast path takes, and checks that for each of them
// the fast path finds exactly the scan's features and answer (exit status 2 otherwise);
// --scanned lists the UAs the fast path leaves to the scan.
// The corpus is not part of the repository: signals/tools/make_ua_corpus.js builds one from
// public npm packages (see signals/README.md).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "signals/device_classifier.h"

using namespace tailor;

int main(int argc, char** argv) {
  bool verbose = false, scanned = false;
  const char* file = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-v") == 0) verbose = true;
    else if (std::strcmp(argv[i], "--scanned") == 0) scanned = true;
    else file = argv[i];
  }
  auto created = DeviceClassifier::Create();
  if (!created.ok()) {
    std::fprintf(stderr, "ua-accuracy: %s\n", created.status().message().c_str());
    return 1;
  }
  const DeviceClassifier& c = *created.value();
  auto ws = c.NewWorkspace();
  if (!ws.ok()) {
    std::fprintf(stderr, "ua-accuracy: %s\n", ws.status().message().c_str());
    return 1;
  }
  long fast = 0, fast_differs = 0;
  std::ifstream f;
  if (file) f.open(file);
  std::istream& in = file ? static_cast<std::istream&>(f) : std::cin;
  std::map<std::string, std::pair<long, long>> per;  // label -> (correct, total)
  std::map<std::string, std::map<std::string, long>> confusion;
  std::string line;
  long correct = 0, total = 0;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string label = line.substr(0, tab);
    std::string ua = line.substr(tab + 1);
    DeviceInfo d = c.Classify(ua, {});
    DeviceClassifier::Features f;
    if (c.FastPathFeatures(ua, *ws.value(), &f)) {
      ++fast;
      bool same_info =
          c.ClassifyUncached(ua, {}, *ws.value()) == c.ClassifyByScan(ua, {}, *ws.value());
      if (!(f == c.ScanFeatures(ua, *ws.value())) || !same_info) {
        ++fast_differs;
        std::printf("FAST PATH DIFFERS\t%s\n", ua.c_str());
      }
    } else if (scanned) {
      std::printf("SCAN %s\t%s\n", label.c_str(), ua.c_str());
    }
    std::string got(DeviceTypeName(d.type));
    bool ok = got == label;
    auto& p = per[label];
    p.second++;
    total++;
    if (ok) {
      p.first++;
      correct++;
    } else {
      confusion[label][got]++;
      if (verbose) std::printf("MISS %s -> %s\t%s\n", label.c_str(), got.c_str(), ua.c_str());
    }
  }
  double sum = 0;
  for (auto& [label, p] : per) {
    double acc = 100.0 * p.first / p.second;
    sum += acc;
    std::printf("%-11s %6ld / %6ld  %6.2f %%", label.c_str(), p.first, p.second, acc);
    for (auto& [got, n] : confusion[label]) std::printf("  ->%s:%ld", got.c_str(), n);
    std::printf("\n");
  }
  if (total == 0) {
    std::printf("no labelled lines\n");
    return 1;
  }
  std::printf("overall     %6ld / %6ld  %6.2f %%\nclass average          %6.2f %%\n", correct,
              total, 100.0 * correct / total, sum / per.size());
  std::printf("fast path   %6ld / %6ld  %6.2f %%  (%ld differ from the scan)\n", fast, total,
              100.0 * fast / total, fast_differs);
  return fast_differs == 0 ? 0 : 2;
}
