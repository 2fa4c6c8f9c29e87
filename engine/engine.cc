#include "engine/engine.h"

#include <algorithm>
#include <chrono>

#include "core/secret.h"
#include "engine/table_binding.h"
#include "rules/compiled.h"
#include "experiments/experiment_assigner.h"
#include "lua/lua_signals.h"
#include "signals/device_classifier.h"
#include "signals/language.h"
#include "signals/referrer_classifier.h"
#include "core/signal_registry.h"
#include "tables/table_set.h"

namespace tailor {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A configuration-level failure (no source position inside a rules file).
void ConfigError(Diagnostics& diags, const std::string& file, const std::string& msg) {
  diags.Error(file, 0, 0, msg);
}

// Experiment assignment with previews: a verified preview token (EvalEnv::preview) forces the
// variants it names; everything else is the bucketing spec.
class PreviewingAssigner final : public ExperimentAssigner {
 public:
  explicit PreviewingAssigner(std::shared_ptr<const ExperimentAssigner> inner)
      : inner_(std::move(inner)) {}
  std::string_view Assign(size_t index, const ExperimentDecl& decl,
                          EvalEnv& env) const override {
    if (env.preview != nullptr) {
      std::string_view forced = env.preview->ForcedVariant(decl.name);
      for (const auto& v : decl.variants)
        if (!forced.empty() && v.name == forced) return v.name;
    }
    return inner_->Assign(index, decl, env);
  }

 private:
  std::shared_ptr<const ExperimentAssigner> inner_;
};

}  // namespace

Engine::~Engine() {
  // The Lua state is bound to the worker thread and must go before the signal set.
  lua_state_.reset();
}

std::unique_ptr<Engine> Engine::Create(const EngineConfig& config, Diagnostics& diags) {
  std::unique_ptr<Engine> e(new Engine());
  e->config_ = config;
  if (!e->Build(diags)) return nullptr;
  return e;
}

bool Engine::Build(Diagnostics& diags) {
  const SignalRegistry& registry = SignalRegistry::Builtin();
  bool ok = true;

  // The secret: profile cookie signatures, visitor hashes, preview tokens, signed lifecycle
  // values. LoadSecret is also what tailorc reads, so what it signs, nginx accepts.
  if (!config_.secret_path.empty()) {
    auto secret = LoadSecret(config_.secret_path);
    if (!secret.ok()) {
      ConfigError(diags, config_.secret_path, secret.status().message());
      ok = false;
    } else {
      secret_ = std::move(secret).value();
      preview_key_ = DerivePreviewKey(secret_);
      visitor_hash_key_ = HmacSha256Key(secret_);
      if (config_.profile_enabled) {
        auto codec = ProfileCodec::Create(secret_, config_.profile);
        if (!codec.ok()) {
          ConfigError(diags, config_.secret_path, codec.status().message());
          ok = false;
        } else {
          profile_ = std::move(codec).value();
        }
      }
    }
  }

  // Signed lifecycle sources (the default) are verified with the secret. Without one they
  // could never match, and trusting the client instead must be a visible choice.
  if (config_.secret_path.empty()) {
    for (const auto& [stage, sources] :
         {std::pair{kLifecycleRegisteredStage, &config_.profile.registered},
          std::pair{kLifecycleOrdersStage, &config_.profile.orders}}) {
      for (const LifecycleSource& src : *sources) {
        if (src.trust_client) continue;
        std::string spelled = std::string(src.kind == LifecycleSource::Kind::kCookie
                                              ? "cookie:"
                                              : "header:") +
                              src.name;
        ConfigError(diags, "tailor_lifecycle",
                    std::string(stage) + " source \"" + spelled +
                        "\" takes values signed with tailor_secret, which is not set; "
                        "configure tailor_secret, or write \"unsigned:" + spelled +
                        "\" to trust what the client sends");
        ok = false;
      }
    }
  }

  referrer_ = std::make_unique<ReferrerClassifier>();
  if (!config_.referrers_path.empty() && !referrer_->LoadDatabaseFile(config_.referrers_path, diags))
    ok = false;

  auto device = DeviceClassifier::Create();
  if (!device.ok()) {
    ConfigError(diags, "device classifier", device.status().message());
    return false;
  }
  device_ = std::move(device).value();

  if (!config_.languages.empty()) {
    // Nothing matches → the site's first language, as `lang` is documented to answer.
    auto lm = LanguageMatcher::Create(config_.languages, config_.default_language.empty()
                                                             ? config_.languages.front()
                                                             : config_.default_language);
    if (!lm.ok()) {
      ConfigError(diags, "tailor_languages", lm.status().message());
      ok = false;
    } else {
      languages_ = std::move(lm).value();
    }
  }

  own_hosts_ = config_.own_hosts;
  for (const std::string& h : own_hosts_) own_host_views_.push_back(h);

  // Data sources: each registered source gets every line of its directive, in order.
  for (const SourceSetting& line : config_.sources) {
    if (registry.FindSource(line.directive) == nullptr) {
      ConfigError(diags, line.directive, "unknown data source directive");
      ok = false;
    }
  }
  sources_.resize(registry.sources().size());
  next_source_poll_ms_.assign(sources_.size(), 0);
  for (size_t id = 0; id < registry.sources().size(); ++id) {
    const DataSourceDef& def = registry.sources()[id];
    std::vector<SourceSetting> lines;
    for (const SourceSetting& line : config_.sources)
      if (line.directive == def.directive) lines.push_back(line);
    if (lines.empty()) continue;
    sources_[id] = def.create(lines, diags);
    if (!sources_[id]) ok = false;
  }

  if (!ok) return false;

  if (!config_.rules_path.empty()) {
    tables_ = std::make_shared<TableRegistry>();
    lua_ = std::make_shared<LuaSignalSet>(registry);
    RuleSetOptions options;
    options.tables = std::make_shared<TableBinding>(tables_);
    options.lua = lua_;
    rules_ = RuleSet::Load(config_.rules_path, registry, diags, options);
    if (!rules_) return false;

    if (!rules_->experiments().empty()) {
      assigner_ = BucketingExperimentAssigner::Create(*rules_, registry, diags,
                                                      config_.rules_path);
      if (!assigner_) return false;
      rules_->SetExperimentAssigner(std::make_shared<PreviewingAssigner>(assigner_));
    }

    if (!rules_->interests().empty()) {
      std::vector<InterestDef> defs;
      for (const InterestDecl& d : rules_->interests()) defs.push_back({d.name, d.paths});
      auto set = InterestSet::Create(std::move(defs));
      if (!set.ok()) {
        ConfigError(diags, config_.rules_path, set.status().message());
        return false;
      }
      interests_ = std::move(set).value();
    }
  }

  services_.referrer = referrer_.get();
  services_.device = device_.get();
  services_.profile = profile_.get();
  services_.languages = languages_.get();
  services_.own_hosts = own_host_views_;
  services_.interests = interests_.get();

  BuildLabels();

  int64_t interval = 0;
  for (const auto& source : sources_) {
    int64_t every = source ? source->poll_interval_ms() : 0;
    if (every > 0 && (interval == 0 || every < interval)) interval = every;
  }
  if (tables_ && tables_->Current() && tables_->Current()->size() > 0 &&
      config_.tables_reload_ms > 0 && (interval == 0 || config_.tables_reload_ms < interval))
    interval = config_.tables_reload_ms;
  poll_interval_ms_ = interval;
  return true;
}

Status Engine::StartWorker() {
  if (!device_->PrepareThread())
    return Status::Error("cannot allocate the device classifier's scratch");
  if (interests_ && !interests_->PrepareThread())
    return Status::Error("cannot allocate the interest matcher's scratch");
  for (const auto& source : sources_)
    if (source) source->StartWorker();
  if (lua_ && lua_->size() > 0) {
    auto state = lua_->CreateWorkerState();
    if (!state.ok()) return state.status();
    lua_state_ = std::move(state).value();
  }
  return Status::Ok();
}

std::vector<Engine::PollMessage> Engine::Poll() {
  std::vector<PollMessage> out;
  int64_t now = SteadyMs();
  for (size_t id = 0; id < sources_.size(); ++id) {
    DataSource* source = sources_[id].get();
    int64_t every = source ? source->poll_interval_ms() : 0;
    if (every <= 0 || now < next_source_poll_ms_[id]) continue;
    next_source_poll_ms_[id] = now + every;
    source->Poll(&out);
  }
  if (tables_ && config_.tables_reload_ms > 0 && now >= next_table_poll_ms_) {
    next_table_poll_ms_ = now + config_.tables_reload_ms;
    for (const TableReloadReport& r : tables_->Poll())
      out.push_back({r.event.outcome == ReloadOutcome::kRejected,
                     "table \"" + r.name + "\" (" + r.path +
                         "): " + ReloadOutcomeName(r.event.outcome) +
                         (r.event.message.empty() ? "" : ": " + r.event.message)});
  }
  return out;
}

void Engine::BuildLabels() {
  if (!rules_) return;
  const CompiledRules& c = rules_->compiled();
  page_labels_.resize(c.pages.size());
  for (size_t p = 0; p < c.pages.size(); ++p) {
    const CompiledPage& page = c.pages[p];
    auto add = [&](std::string_view name) {
      for (const auto& [v, id] : page_labels_[p])
        if (v == name) return;
      page_labels_[p].emplace_back(name, variant_labels_.size());
      variant_labels_.push_back({page.pattern, name});
    };
    for (uint32_t i = 0; i < page.variants_count; ++i)
      add(c.variants[page.variants_first + i].name);
    if (page.has_default) add(page.default_name);
  }
  for (const ExperimentDecl& e : rules_->experiments()) {
    experiment_first_label_.push_back(exposure_labels_.size());
    for (const auto& v : e.variants) exposure_labels_.push_back({e.name, v.name});
  }
}

size_t Engine::VariantLabel(const Decision& d) const {
  if (d.page < 0 || static_cast<size_t>(d.page) >= page_labels_.size()) return kNoLabel;
  for (const auto& [v, id] : page_labels_[d.page])
    if (v == d.variant) return id;
  return kNoLabel;
}

size_t Engine::ExposureLabel(size_t experiment, std::string_view variant) const {
  if (experiment >= experiment_first_label_.size()) return kNoLabel;
  const auto& variants = rules_->experiments()[experiment].variants;
  for (size_t i = 0; i < variants.size(); ++i)
    if (variants[i].name == variant) return experiment_first_label_[experiment] + i;
  return kNoLabel;
}

int Engine::ExperimentIndex(std::string_view name) const {
  if (!rules_) return -1;
  const auto& experiments = rules_->experiments();
  for (size_t i = 0; i < experiments.size(); ++i)
    if (experiments[i].name == name) return static_cast<int>(i);
  // nginx variable names are lower case letters, digits and '_': "Hero-2026.b" is read as
  // $tailor_experiment_hero_2026_b, when no other experiment reads the same.
  auto fold = [](char ch) -> char {
    if (ch >= 'A' && ch <= 'Z') return static_cast<char>(ch - 'A' + 'a');
    return (ch == '-' || ch == '.') ? '_' : ch;
  };
  int found = -1;
  for (size_t i = 0; i < experiments.size(); ++i) {
    const std::string& e = experiments[i].name;
    if (e.size() != name.size()) continue;
    bool same = true;
    for (size_t k = 0; k < e.size() && same; ++k) same = fold(e[k]) == fold(name[k]);
    if (!same) continue;
    if (found >= 0) return -2;
    found = static_cast<int>(i);
  }
  return found;
}

void Engine::UseExperimentVariable(size_t experiment) {
  if (!rules_ || experiment >= rules_->experiments().size()) return;
  auto it = std::lower_bound(variable_experiments_.begin(), variable_experiments_.end(),
                             static_cast<uint32_t>(experiment));
  if (it != variable_experiments_.end() && *it == experiment) return;
  variable_experiments_.insert(it, static_cast<uint32_t>(experiment));
}

std::shared_ptr<const TableSet> Engine::tables() const {
  return tables_ ? tables_->Current() : nullptr;
}

}  // namespace tailor
