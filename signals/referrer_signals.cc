// referrer.medium / referrer.source / referrer.term, campaign.source / medium / campaign /
// term / content. One classification per request, memoized for the whole family.
#include "signals/referrer_signals.h"

namespace tailor {
namespace {

size_t g_referrer_slot = 0;
size_t g_campaign_slot = 0;

struct ReferrerMemo {
  bool available;
  ReferrerResult result;
};

const ReferrerMemo& Compute(EvalEnv& env) {
  return Memoized<ReferrerMemo>(env, g_referrer_slot, [](EvalEnv& e) {
    ReferrerMemo m{};
    if (e.services.referrer == nullptr) return m;
    const RequestView& rq = e.request;
    std::string_view referer = rq.FindHeader("referer").value_or(std::string_view());
    m.result = e.services.referrer->Classify(referer, rq.host, rq.query, e.services.own_hosts,
                                             e.arena);
    m.available = true;
    return m;
  });
}

const CampaignParams& Campaign(EvalEnv& env) {
  return Memoized<CampaignParams>(env, g_campaign_slot, [](EvalEnv& e) {
    return ParseCampaignParams(e.request.query, e.arena);
  });
}

Value NonEmpty(std::string_view s) { return s.empty() ? Value::Missing() : Value::String(s); }

Value ReferrerMediumSignal(const SignalArgs&, EvalEnv& env) {
  const ReferrerMemo& m = Compute(env);
  return m.available ? Value::String(MediumName(m.result.medium)) : Value::Missing();
}
Value ReferrerSourceSignal(const SignalArgs&, EvalEnv& env) {
  const ReferrerMemo& m = Compute(env);
  return m.available ? NonEmpty(m.result.source) : Value::Missing();
}
Value ReferrerTermSignal(const SignalArgs&, EvalEnv& env) {
  const ReferrerMemo& m = Compute(env);
  return m.available ? NonEmpty(m.result.term) : Value::Missing();
}
Value CampaignSourceSignal(const SignalArgs&, EvalEnv& env) { return NonEmpty(Campaign(env).source); }
Value CampaignMediumSignal(const SignalArgs&, EvalEnv& env) { return NonEmpty(Campaign(env).medium); }
Value CampaignNameSignal(const SignalArgs&, EvalEnv& env) { return NonEmpty(Campaign(env).campaign); }
Value CampaignTermSignal(const SignalArgs&, EvalEnv& env) { return NonEmpty(Campaign(env).term); }
Value CampaignContentSignal(const SignalArgs&, EvalEnv& env) {
  return NonEmpty(Campaign(env).content);
}

}  // namespace

const ReferrerResult* RequestReferrer(EvalEnv& env) {
  const ReferrerMemo& m = Compute(env);
  return m.available ? &m.result : nullptr;
}

void RegisterReferrerSignals(SignalRegistry& r) {
  g_referrer_slot = r.ReserveMemo(sizeof(Memo<ReferrerMemo>), alignof(Memo<ReferrerMemo>));
  g_campaign_slot = r.ReserveMemo(sizeof(Memo<CampaignParams>), alignof(Memo<CampaignParams>));
  r.Add({"referrer.medium", ValueType::kString, SignalArg::kNone, 50, ReferrerMediumSignal,
         "why the visitor came: direct, internal, search, social, email, paid, display, "
         "affiliate, jobs, chatbot or unknown (utm_medium and ad click IDs win over the Referer)",
         R"(referrer.medium in ["search", "chatbot"])"});
  r.Add({"referrer.source", ValueType::kString, SignalArg::kNone, 50, ReferrerSourceSignal,
         "who sent the visitor, lowercase (google, facebook, linkedin, chatgpt, the utm_source, "
         "or the referring host for unknown sites); missing for direct and internal",
         R"(referrer.source == "linkedin")"});
  r.Add({"referrer.term", ValueType::kString, SignalArg::kNone, 50, ReferrerTermSignal,
         "the search words when the referrer URL (or utm_term) carries them",
         R"(referrer.term contains "shoes")"});
  r.Add({"campaign.source", ValueType::kString, SignalArg::kNone, 5, CampaignSourceSignal,
         "utm_source of the landing URL, decoded", R"(campaign.source == "newsletter")"});
  r.Add({"campaign.medium", ValueType::kString, SignalArg::kNone, 5, CampaignMediumSignal,
         "utm_medium of the landing URL, decoded (as sent; referrer.medium is the normalized "
         "form)",
         R"(campaign.medium == "cpc")"});
  r.Add({"campaign.campaign", ValueType::kString, SignalArg::kNone, 5, CampaignNameSignal,
         "utm_campaign of the landing URL, decoded", R"(campaign.campaign == "spring-sale")"});
  r.Add({"campaign.term", ValueType::kString, SignalArg::kNone, 5, CampaignTermSignal,
         "utm_term of the landing URL, decoded", R"(campaign.term contains "running")"});
  r.Add({"campaign.content", ValueType::kString, SignalArg::kNone, 5, CampaignContentSignal,
         "utm_content of the landing URL, decoded", R"(campaign.content == "hero-banner")"});
}

}  // namespace tailor
