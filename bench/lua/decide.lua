-- 4. The decisions of bench/configs/tailor.rules in OpenResty-style Lua (Debian's
-- libnginx-mod-http-lua), as a site would write them by hand: run once per request in the
-- header filter, result in response headers (X-Variant, X-Segments, X-Experiments).
-- Geo comes from the geoip2 module's variables (lua-nginx-module has no MaxMind reader), the
-- CRM table from crm.lua (generated from crm.csv), and the history cookie
-- `tp=VISITS.PAGEVIEWS.FIRST_MEDIUM.SIG` is verified with HMAC-SHA1 under bench.secret.
-- bench/configs/native.conf makes the same decisions with nginx directives: keep them in step.
local _M = {}

local ngx = ngx
local re_find = ngx.re.find
local re_match = ngx.re.match
local var = ngx.var
local concat = table.concat
local byte = string.byte
local format = string.format
local crc32 = ngx.crc32_long

local secret
local crm

function _M.init(data_dir)
  local f = assert(io.open(data_dir .. "/bench.secret", "rb"))
  secret = f:read("*a")
  f:close()
  crm = dofile(data_dir .. "/crm.lua")
end

local function device(ua)
  if ua == nil then return "other", "other", "other" end
  if re_find(ua, [=[bot|crawler|spider|slurp]=], "joi") then return "bot", "other", "other" end
  local dtype
  if re_find(ua, [=[iPad]=], "jo") or re_find(ua, [=[Android(?!.*Mobile)]=], "jo") then
    dtype = "tablet"
  elseif re_find(ua, [=[iPhone|iPod|Mobile]=], "jo") then
    dtype = "smartphone"
  elseif re_find(ua, [=[Windows NT|Macintosh|X11]=], "jo") then
    dtype = "desktop"
  else
    dtype = "other"
  end
  local os
  if re_find(ua, [=[iPhone|iPad|iPod]=], "jo") then os = "ios"
  elseif re_find(ua, [=[Android]=], "jo") then os = "android"
  elseif re_find(ua, [=[Windows NT]=], "jo") then os = "windows"
  elseif re_find(ua, [=[Macintosh]=], "jo") then os = "macos"
  elseif re_find(ua, [=[X11|Linux]=], "jo") then os = "linux"
  else os = "other" end
  local browser
  if re_find(ua, [=[Edg/]=], "jo") then browser = "edge"
  elseif re_find(ua, [=[OPR/]=], "jo") then browser = "opera"
  elseif re_find(ua, [=[SamsungBrowser/]=], "jo") then browser = "samsung"
  elseif re_find(ua, [=[(Firefox|FxiOS)/]=], "jo") then browser = "firefox"
  elseif re_find(ua, [=[(CriOS|Chrome)/]=], "jo") then browser = "chrome"
  elseif re_find(ua, [=[Safari/]=], "jo") then browser = "safari"
  else browser = "other" end
  return dtype, os, browser
end

-- referrer.medium and referrer.source: campaign parameters win over the referrer.
local function traffic_source(utm_medium, utm_source, gclid, referer)
  local medium, source
  if utm_medium == "email" then medium = "email"
  elseif utm_medium == "cpc" or utm_medium == "ppc" or utm_medium == "paid" then medium = "paid"
  elseif utm_medium == "social" then medium = "social"
  elseif gclid then medium = "paid"
  elseif referer == nil or referer == "" then medium = "direct"
  elseif re_find(referer, [=[^https?://127\.0\.0\.1[:/]]=], "jo") then medium = "internal"
  elseif re_find(referer, [=[^https?://(mail\.google\.com|outlook\.live\.com|mail\.yahoo\.com)/]=], "jo") then
    medium = "email"
  elseif re_find(referer, [=[^https?://([a-z0-9-]+\.)*(google\.[a-z.]+|bing\.com|duckduckgo\.com|search\.yahoo\.com|qwant\.com|ecosia\.org)/]=], "jo") then
    medium = "search"
  elseif re_find(referer, [=[^https?://([a-z0-9-]+\.)*(facebook\.com|t\.co|twitter\.com|x\.com|linkedin\.com|instagram\.com|pinterest\.[a-z.]+)/]=], "jo") then
    medium = "social"
  elseif re_find(referer, [=[^https?://([a-z0-9-]+\.)*(chatgpt\.com|perplexity\.ai|gemini\.google\.com)/]=], "jo") then
    medium = "chatbot"
  else
    medium = "unknown"
  end
  if utm_source and utm_source ~= "" then source = utm_source
  elseif gclid then source = "google"
  elseif referer and referer ~= "" then
    if re_find(referer, [=[^https?://mail\.google\.com/]=], "jo") then source = "gmail"
    elseif re_find(referer, [=[^https?://([a-z0-9-]+\.)*google\.[a-z.]+/]=], "jo") then source = "google"
    elseif re_find(referer, [=[^https?://([a-z0-9-]+\.)*facebook\.com/]=], "jo") then source = "facebook"
    end
  end
  return medium, source
end

local function hex8(bin)
  local b1, b2, b3, b4, b5, b6, b7, b8 = byte(bin, 1, 8)
  return format("%02x%02x%02x%02x%02x%02x%02x%02x", b1, b2, b3, b4, b5, b6, b7, b8)
end

-- The history cookie, verified: visits, pageviews, first-touch medium (nil when absent/forged).
local function history(tp)
  if tp == nil then return nil end
  local m = re_match(tp, [=[^(([0-9]+)\.([0-9]+)\.([a-z]+))\.([0-9a-f]{16})$]=], "jo")
  if m == nil then return nil end
  if hex8(ngx.hmac_sha1(secret, m[1])) ~= m[5] then return nil end
  return tonumber(m[2]), tonumber(m[3]), m[4]
end

-- Bucketing: a hash of "NAME:VISITOR" mod 10000, as split_clients does (another hash).
local function bucket(name, visitor_id)
  return crc32(name .. ":" .. visitor_id) % 10000
end

function _M.run()
  local uri = var.request_uri
  local path = uri
  local q = uri:find("?", 1, true)
  if q then path = uri:sub(1, q - 1) end

  local country, continent, eu, city = var.geo_country, var.geo_continent, var.geo_eu, var.geo_city
  local dtype, os, browser = device(var.http_user_agent)
  local medium, source = traffic_source(var.arg_utm_medium, var.arg_utm_source, var.arg_gclid,
                                        var.http_referer)
  local campaign = var.arg_utm_campaign
  local visits, pageviews, first = history(var.cookie_tp)

  local vid = var.cookie_tailor_id
  if vid == nil or not re_find(vid, [=[^[A-Za-z0-9_-]{22}$]=], "jo") then
    vid = var.request_id
    ngx.header["Set-Cookie"] = "tailor_id=" .. vid ..
                               "; Max-Age=34128000; Path=/; HttpOnly; SameSite=Lax"
  end
  local row = crm[vid]
  local tier, spend, opted_in
  if row then tier, spend, opted_in = row[1], row[2], row[3] end

  local s = {}  -- segment name -> true
  local list = {}
  local function seg(name, cond)
    if cond then
      s[name] = true
      list[#list + 1] = name
    end
  end

  seg("geo_known", country ~= nil and country ~= "")
  seg("geo_fr", country == "FR")
  seg("geo_de", country == "DE")
  seg("geo_gb", country == "GB")
  seg("geo_us", country == "US")
  seg("geo_eu", eu == "1" or eu == "true")
  seg("geo_europe", continent == "EU")
  seg("geo_dach", country == "DE" or country == "AT" or country == "CH")
  seg("geo_paris", city == "Paris")

  seg("dev_smartphone", dtype == "smartphone")
  seg("dev_tablet", dtype == "tablet")
  seg("dev_desktop", dtype == "desktop")
  seg("dev_bot", dtype == "bot")
  seg("os_ios", os == "ios")
  seg("os_android", os == "android")
  seg("os_windows", os == "windows")
  seg("os_macos", os == "macos")
  seg("br_chrome", browser == "chrome")
  seg("br_safari", browser == "safari")
  seg("br_firefox", browser == "firefox")

  seg("src_direct", medium == "direct")
  seg("src_internal", medium == "internal")
  seg("src_search", medium == "search")
  seg("src_social", medium == "social")
  seg("src_email", medium == "email")
  seg("src_paid", medium == "paid")
  seg("src_google", source == "google")
  seg("src_facebook", source == "facebook")
  seg("camp_blackfriday", campaign ~= nil and campaign:find("blackfriday", 1, true) ~= nil)
  seg("camp_welcome", campaign == "welcome")

  seg("visitor_returning", visits ~= nil and visits >= 2)
  seg("visitor_new", not s.visitor_returning)
  seg("visitor_loyal", visits ~= nil and visits >= 5)
  seg("visitor_engaged", pageviews ~= nil and pageviews + 1 >= 20)  -- this request counts, as in Tailor
  if first == nil then first = medium end  -- without history this request is the first touch
  seg("first_from_search", first == "search")
  seg("first_from_email", first == "email")

  seg("crm_customer", tier ~= nil)
  seg("crm_gold", tier == "gold")
  seg("crm_silver", tier == "silver")
  seg("crm_big_spender", spend ~= nil and spend >= 1000)
  seg("crm_opted_in", opted_in == true)

  local lang = var.http_accept_language
  seg("lang_fr", lang ~= nil and lang:sub(1, 2) == "fr")
  local cart = var.cookie_cart
  seg("has_cart", cart ~= nil and cart ~= "")
  seg("promo", var.arg_promo == "XMAS")
  local shopping = path:sub(1, 6) == "/shop/" or path:sub(1, 3) == "/p/"
  seg("shopping", shopping)

  seg("fr_mobile", s.geo_fr and s.dev_smartphone)
  seg("eu_search_new", s.geo_eu and s.src_search and s.visitor_new)
  seg("vip", s.crm_gold or (s.crm_big_spender and s.visitor_loyal))
  seg("vip_mobile", s.vip and s.dev_smartphone)
  seg("cart_abandoner", s.has_cart and s.visitor_returning and not s.src_internal)

  -- Experiments (same shares as tailor.rules; the layer is a plain share of its own hash).
  local hero, pricing, reco
  local exps = {}
  if not s.dev_bot then
    local b = bucket("hero", vid)
    if b < 2500 then hero = "control" elseif b < 5000 then hero = "bold" end
    if hero then exps[#exps + 1] = "hero:" .. hero end
    if s.geo_eu then
      b = bucket("pricing", vid)
      if b < 2500 then pricing = "control" elseif b < 5000 then pricing = "discount" end
      if pricing then exps[#exps + 1] = "pricing:" .. pricing end
    end
    b = bucket("reco", vid)
    if b < 667 then reco = "control" elseif b < 1334 then reco = "personal"
    elseif b < 2000 then reco = "trending" end
    if reco then exps[#exps + 1] = "reco:" .. reco end
  end

  local variant
  if path == "/" then
    if s.vip then variant = "home-vip"
    elseif hero == "bold" then variant = "home-bold"
    elseif s.fr_mobile then variant = "home-fr-mobile"
    elseif s.src_email or s.camp_blackfriday then variant = "home-email"
    elseif s.eu_search_new then variant = "home-search"
    else variant = "home" end
  elseif path:sub(1, 6) == "/shop/" then
    if s.cart_abandoner then variant = "shop-cart"
    elseif pricing == "discount" then variant = "shop-discount"
    elseif s.geo_dach then variant = "shop-dach"
    elseif s.dev_smartphone or s.dev_tablet then variant = "shop-mobile"
    else variant = "shop" end
  elseif path:sub(1, 3) == "/p/" then
    if reco == "personal" then variant = "product-personal"
    elseif reco == "trending" then variant = "product-trending"
    elseif s.vip_mobile then variant = "product-vip"
    elseif s.visitor_returning and s.lang_fr then variant = "product-returning"
    else variant = "product" end
  end

  local h = ngx.header
  if variant then h["X-Variant"] = variant end
  if #list > 0 then h["X-Segments"] = concat(list, ",") end
  if #exps > 0 then h["X-Experiments"] = concat(exps, ",") end
end

return _M
