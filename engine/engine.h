// Engine: one loaded configuration, everything the directives describe, wired together.
//
// Config time (nginx -t, reload, tailorc): Engine::Create reads and checks every file — rules,
// geo databases, tables, the secret, the referrer database, Lua signals — builds the services
// the signals read and plugs the libraries behind the rule language's declarations into the
// compiled rules (tables, Lua, experiments). Any error fails the whole configuration.
//
// Worker time: StartWorker() allocates what each worker process needs for itself (regex
// scratch, UA cache, geo record cache, a LuaJIT state); Poll(), from a timer of the worker,
// hot-reloads changed geo databases and tables off the request path.
//
// Request time: RequestEvaluation (engine/request_evaluation.h) reads the engine; nothing in
// the engine changes while a request runs (a reload swaps snapshots between requests, and a
// request keeps the snapshots it started with).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/data_source.h"
#include "core/diagnostic.h"
#include "core/services.h"
#include "core/status.h"
#include "rules/rule_set.h"
#include "experiments/preview_token.h"
#include "signals/visitor_profile.h"

namespace tailor {

class TableRegistry;
class TableSet;
class LuaSignalSet;
class LuaWorkerState;
class ReferrerClassifier;
class DeviceClassifier;
class LanguageMatcher;
class BucketingExperimentAssigner;

struct EngineConfig {
  std::string rules_path;              // empty: no rules (visitor cookie only)
  std::vector<SourceSetting> sources;     // data-source directives (tailor_geoip2, ...)
  std::string secret_path;             // tailor_secret (profile cookie, visitor hash, preview)
  std::string referrers_path;          // tailor_referrers
  std::vector<std::string> languages;  // tailor_languages
  std::string default_language;
  std::vector<std::string> own_hosts;  // hosts counted as internal referrers
  ProfileOptions profile;              // the profile cookie
  bool profile_enabled = true;         // with a secret: keep the visitor profile cookie
  int64_t tables_reload_ms = 5000;     // how often table files are checked; 0: never
  bool bots_get_default = true;        // bots (device.bot) get the default variant
};

class Engine {
 public:
  static std::unique_ptr<Engine> Create(const EngineConfig& config, Diagnostics& diags);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Each worker process (or CLI process) calls this once before serving requests.
  Status StartWorker();

  // How often Poll() should run, 0 when nothing is watched.
  int64_t poll_interval_ms() const { return poll_interval_ms_; }
  using PollMessage = DataSource::PollMessage;
  std::vector<PollMessage> Poll();

  const EngineConfig& config() const { return config_; }
  const RuleSet* rules() const { return rules_.get(); }
  // The services without per-request snapshots (data sources and tables are filled per
  // request).
  const Services& base_services() const { return services_; }
  // Data source `id` of the registry (SignalRegistry::sources()), null when not configured.
  const DataSource* source(size_t id) const {
    return id < sources_.size() ? sources_[id].get() : nullptr;
  }
  std::shared_ptr<const TableSet> tables() const;
  const ProfileCodec* profile_codec() const { return profile_.get(); }
  // The secret's key material (empty without tailor_secret).
  const std::string& secret() const { return secret_; }
  const LuaSignalSet* lua() const { return lua_.get(); }
  // This worker's Lua state (after StartWorker), or null without Lua signals.
  LuaWorkerState* lua_state() const { return lua_state_.get(); }
  const BucketingExperimentAssigner* experiments() const { return assigner_.get(); }
  // The preview-token key (derived from the secret), or null without tailor_secret.
  const PreviewKey* preview_key() const { return secret_.empty() ? nullptr : &preview_key_; }
  // Keys $tailor_visitor_hash (empty without tailor_secret).
  const HmacSha256Key& visitor_hash_key() const { return visitor_hash_key_; }

  // Counter labels, fixed for the engine's life: every (page, variant) pair of the rules and
  // every (experiment, variant) pair, for the metrics the glue keeps in shared memory.
  struct Label {
    std::string_view first, second;  // (page, variant) or (experiment, variant)
  };
  static constexpr size_t kNoLabel = static_cast<size_t>(-1);
  const std::vector<Label>& variant_labels() const { return variant_labels_; }
  const std::vector<Label>& exposure_labels() const { return exposure_labels_; }
  size_t VariantLabel(const Decision& d) const;
  size_t ExposureLabel(size_t experiment, std::string_view variant) const;

  // Experiments read through nginx variables ($tailor_experiment_NAME): the index of the
  // experiment named `name` (else the one whose name, lower-cased with '-' and '.' as '_',
  // is `name`), -1 when the rules have none, -2 when several fold to `name`;
  // UseExperimentVariable marks one as
  // used by the configuration (config time only), so $tailor_experiments always lists it.
  int ExperimentIndex(std::string_view name) const;
  void UseExperimentVariable(size_t experiment);
  const std::vector<uint32_t>& variable_experiments() const { return variable_experiments_; }

 private:
  Engine() = default;
  bool Build(Diagnostics& diags);

  EngineConfig config_;
  std::string secret_;
  PreviewKey preview_key_;
  HmacSha256Key visitor_hash_key_;
  std::unique_ptr<ReferrerClassifier> referrer_;
  std::unique_ptr<DeviceClassifier> device_;
  std::unique_ptr<LanguageMatcher> languages_;
  std::unique_ptr<ProfileCodec> profile_;
  std::unique_ptr<InterestSet> interests_;
  std::vector<std::string> own_hosts_;
  std::vector<std::string_view> own_host_views_;
  std::vector<std::unique_ptr<DataSource>> sources_;  // by source id; null: not configured
  std::vector<int64_t> next_source_poll_ms_;
  std::shared_ptr<TableRegistry> tables_;
  std::shared_ptr<LuaSignalSet> lua_;
  std::shared_ptr<BucketingExperimentAssigner> assigner_;
  std::shared_ptr<RuleSet> rules_;
  Services services_;
  std::vector<Label> variant_labels_;
  // Per page, its variants' label ids: a page has a handful of variants, so a linear scan
  // beats hashing and allocates nothing.
  std::vector<std::vector<std::pair<std::string_view, size_t>>> page_labels_;
  std::vector<Label> exposure_labels_;
  std::vector<size_t> experiment_first_label_;
  std::vector<uint32_t> variable_experiments_;  // ascending, no duplicates
  void BuildLabels();
  int64_t poll_interval_ms_ = 0;
  int64_t next_table_poll_ms_ = 0;

  // Per worker (set by StartWorker in each worker process after fork).
  std::unique_ptr<LuaWorkerState> lua_state_;
};

}  // namespace tailor
