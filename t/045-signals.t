# Request signals through real nginx, each read both by the rules (the variant) and as an nginx
# variable: traffic source and campaign, device, visitor history in the signed profile cookie,
# interests, lifecycle, language and time; and hostile input (10 KB headers, invalid UTF-8,
# malformed URLs, tampered/truncated/oversized cookies), which gets the default variant.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;
use Cwd qw(abs_path);
use Time::HiRes qw(sleep);
use Digest::SHA ();

require_tailor_module();

my $rules = <<'RULES';
interest shoes paths ["/vis/shoes/*"]
interest bags  paths ["/vis/bags/*"]

segment from_search  = referrer.medium == "search"
segment from_chatbot = referrer.medium == "chatbot"
segment paid         = referrer.medium == "paid"
segment spring       = campaign.campaign == "spring"
page "/ref" {
  variant "spring"  when spring
  variant "paid"    when paid
  variant "search"  when from_search
  variant "chatbot" when from_chatbot
  default "plain"
}

segment phone   = device.type == "smartphone"
segment tablet  = device.type == "tablet"
segment big_tv  = device.type in ["tv", "console"]
page "/dev" {
  variant "phone"  when phone
  variant "tablet" when tablet
  variant "tv"     when big_tv
  default "desktop"
}

segment returning  = visitor.visits >= 2
segment engaged    = visitor.pageviews >= 3
segment shoe_fan   = interest.top == "shoes"
segment loyal      = lifecycle == "repeat_customer"
page "/vis/*" {
  variant "loyal"     when loyal
  variant "returning" when returning
  variant "shoe-fan"  when shoe_fan
  variant "engaged"   when engaged
  default "new"
}

segment german = lang == "de"
page "/lang" { variant "de" when german  default "other" }

segment any_hour = time.hour between 0 and 23
page "/time" { variant "clock" when any_hour and exists(time.weekday)  default "noclock" }
RULES

my $secret = 'k' x 40;
my $http = <<'HTTP';
tailor_rules conf/site.rules;
tailor_secret conf/secret;
tailor_languages fr en de;
tailor_own_hosts www.shop.example;
tailor_visit_timeout 1s;
tailor_lifecycle registered cookie:logged_in;
tailor_lifecycle orders header:X-Orders cookie:orders;
large_client_header_buffers 4 32k;
HTTP

my $conf = <<'CONF';
location /ref  { tailor on; return 200 "$tailor_variant|$tailor_referrer_medium|$tailor_referrer_source|$tailor_referrer_term|$tailor_campaign_source|$tailor_campaign_campaign\n"; }
location /dev  { tailor on; return 200 "$tailor_variant|$tailor_device_type|$tailor_device_os|$tailor_device_browser|$tailor_device_bot|$tailor_device_mobile\n"; }
location /vis  { tailor on; return 200 "$tailor_variant|new=$tailor_visitor_new|visits=$tailor_visitor_visits|views=$tailor_visitor_pageviews|first=$tailor_visitor_first_touch_medium|last=$tailor_visitor_last_touch_medium|top=$tailor_interest_top|life=$tailor_lifecycle\n"; }
location /lang { tailor on; return 200 "$tailor_variant|$tailor_lang\n"; }
location /time { tailor on; return 200 "$tailor_variant|$tailor_time_hour|$tailor_time_weekday|$tailor_time_date\n"; }
location = /status { tailor_status; }
CONF

my $t = Tailor::Test::Server->new(
    workers     => 2,
    http_config => $http,
    config      => $conf,
    user_files  => { 'conf/site.rules' => $rules, 'conf/secret' => $secret },
);
$t->start;

sub get {
    my ($line, @h) = @_;
    my $r = $t->request($line, headers => \@h);
    my $b = $r->{body} // '';
    $b =~ s/\n\z//;
    return $r->{status} == 200 ? $b : "status $r->{status}";
}

# --- traffic source ------------------------------------------------------------------------
is get('GET /ref', Referer => 'https://www.google.com/search?q=red+shoes'),
    'search|search|google|red shoes||', 'search engine with its search words';
is get('GET /ref', Referer => 'https://www.bing.com/search?q=sac%20cuir'),
    'search|search|bing|sac cuir||', 'another engine, percent-encoded term';
is get('GET /ref', Referer => 'https://chatgpt.com/'), 'chatbot|chatbot|chatgpt|||', 'AI assistant';
like get('GET /ref', Referer => 'https://www.facebook.com/'), qr/^plain\|social\|facebook\|/, 'social network';
like get('GET /ref', Referer => 'https://www.linkedin.com/feed/'), qr/^plain\|social\|linkedin\|/, 'linkedin';
like get('GET /ref', Referer => 'https://mail.google.com/mail/u/0/'), qr/^plain\|email\|/, 'webmail';
like get('GET /ref', Referer => 'https://www.indeed.com/viewjob?jk=1'), qr/^plain\|jobs\|/, 'job board';
is get('GET /ref'), 'plain|direct||||', 'no referrer: direct, no source';
is get('GET /ref', Referer => 'http://localhost/other'), 'plain|internal||||', 'same host: internal';
is get('GET /ref', Referer => 'https://www.shop.example/cart'), 'plain|internal||||',
    'a tailor_own_hosts host: internal';
is get('GET /ref', Referer => 'https://random-blog.example/post'),
    'plain|unknown|random-blog.example|||', 'an unknown site: unknown, its host as the source';
# Campaign parameters and click IDs win over the referrer.
is get('GET /ref?utm_medium=email&utm_source=newsletter&utm_campaign=spring',
       Referer => 'https://www.google.com/search?q=x'),
    'spring|email|newsletter||newsletter|spring', 'utm_* win over the referrer; campaign.*';
is get('GET /ref?gclid=abc123', Referer => 'https://www.google.com/'), 'paid|paid|google|||',
    'gclid: paid, google';
is get('GET /ref?fbclid=IwAR0', Referer => 'https://m.facebook.com/'), 'paid|paid|facebook|||',
    'fbclid: paid, facebook';
like get('GET /ref?msclkid=x1'), qr/^paid\|paid\|/, 'msclkid without a referrer: paid';
is get('GET /ref?utm_campaign=sp%72ing&utm_source=n%20l'), 'spring|unknown|n l||n l|spring',
    'campaign values are decoded';

# tailor_referrers: a referer-parser database adds engines the built-in list lacks.
SKIP: {
    my $yml = abs_path('../shared/data/referers/referers.yml');
    skip 'no ../shared/data/referers/referers.yml', 3 unless $yml && -f $yml;
    like get('GET /ref', Referer => 'https://www.exalead.com/search/web/results/?q=x'),
        qr/^plain\|unknown\|/, 'without the database: an unknown site';
    my $y = Tailor::Test::Server->new(
        http_config => "tailor_rules conf/site.rules;\ntailor_referrers $yml;\n",
        config      => $conf,
        user_files  => { 'conf/site.rules' => $rules },
    );
    $y->start;
    my $r = $y->request('GET /ref', headers => [Referer => 'https://www.exalead.com/search/web/results/?q=x']);
    like $r->{body}, qr/^search\|search\|exalead\|/, 'with the database: a search engine';
    $r = $y->request('GET /ref', headers => [Referer => 'https://www.google.com/']);
    like $r->{body}, qr/^search\|search\|google\|/, 'built-in knowledge still applies';
    $y->stop;
}

# --- device --------------------------------------------------------------------------------
my %ua = (
    chrome_win => 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    iphone     => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
    ipad       => 'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
    tizen_tv   => 'Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36',
    ps5        => 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15',
    googlebot  => 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    android    => 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    firefox_mac => 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
    galaxy_wv  => 'Mozilla/5.0 (Linux; Android 14; SM-S928B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36',
    galaxy_new => 'Mozilla/5.0 (Linux; Android 14; SM-S928B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.53 Mobile Safari/537.36',
    tab_s9     => 'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    tv_shell   => 'Mozilla/5.0 (Linux; Android 9; Brandname Shell 536D430XF12_FHD) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 Mobile Safari/537.36',
    tv_sized   => 'Mozilla/5.0 (Linux; Android 11; 43UQ7500GU Build/RP1A.200720.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/109.0.5414.117 Safari/537.36',
    gbot_phone => 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    gptbot     => 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    fb_iphone  => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/455.0.0.45.109;FBBV/575318062;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]',
    vivaldi    => 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Vivaldi/6.6.3271.57',
);
is get('GET /dev', 'User-Agent' => $ua{chrome_win}), 'desktop|desktop|windows|chrome|0|0', 'Chrome on Windows';
is get('GET /dev', 'User-Agent' => $ua{firefox_mac}), 'desktop|desktop|macos|firefox|0|0', 'Firefox on macOS';
is get('GET /dev', 'User-Agent' => $ua{iphone}), 'phone|smartphone|ios|safari|0|1', 'iPhone Safari';
is get('GET /dev', 'User-Agent' => $ua{ipad}), 'tablet|tablet|ios|safari|0|0', 'iPad: a tablet, not mobile';
like get('GET /dev', 'User-Agent' => $ua{tizen_tv}), qr/^tv\|tv\|tizen\|/, 'Samsung Tizen TV';
like get('GET /dev', 'User-Agent' => $ua{ps5}), qr/^tv\|console\|playstation\|/, 'PlayStation 5';
like get('GET /dev', 'User-Agent' => $ua{googlebot}), qr/^desktop\|bot\|.*\|1\|0$/,
    'Googlebot: a bot, and bots get the default variant';
is get('GET /dev', 'User-Agent' => $ua{android}), 'phone|smartphone|android|chrome|0|1',
    'reduced Android UA: a phone';
is get('GET /dev', 'User-Agent' => $ua{android}, 'Sec-CH-UA-Mobile' => '?0'),
    'tablet|tablet|android|chrome|0|0', 'Sec-CH-UA-Mobile ?0 wins over the reduced UA: a tablet';
like get('GET /dev', 'User-Agent' => $ua{chrome_win}, 'Sec-CH-UA-Platform' => '"Chrome OS"'),
    qr/^desktop\|desktop\|chromeos\|chrome\|/, 'Sec-CH-UA-Platform sets the OS';
like get('GET /dev', 'User-Agent' => undef), qr/^desktop\|bot\|/, 'no User-Agent: a bot';
# Android UAs naming their device: the model part is scanned once, then found in the worker's
# memo for the same phone's next browser version.
is get('GET /dev', 'User-Agent' => $ua{galaxy_wv}), 'phone|smartphone|android|webview|0|1',
    'a Galaxy webview';
is get('GET /dev', 'User-Agent' => $ua{galaxy_new}), 'phone|smartphone|android|webview|0|1',
    'the same phone, a new browser version';
like get('GET /dev', 'User-Agent' => $ua{tab_s9}), qr/^tablet\|tablet\|android\|chrome\|0\|0$/,
    'a Galaxy Tab by its model';
like get('GET /dev', 'User-Agent' => $ua{tv_shell}), qr/^tv\|tv\|android\|/,
    'an Android TV by its firmware shell, though it says Mobile';
like get('GET /dev', 'User-Agent' => $ua{tv_sized}), qr/^tv\|tv\|android\|/,
    'an Android TV by the panel size leading its model';
# Crawlers and apps of a browser's shape: their unknown tokens are scanned as parts.
is get('GET /dev', 'User-Agent' => $ua{gbot_phone}), 'desktop|bot|android|chrome|1|0',
    "Googlebot's smartphone crawler: a bot, by the comment after its products";
like get('GET /dev', 'User-Agent' => $ua{gptbot}), qr/^desktop\|bot\|.*\|1\|0$/,
    'GPTBot (no comment, a crawler inside the product comment): a bot';
is get('GET /dev', 'User-Agent' => $ua{fb_iphone}), 'phone|smartphone|ios|facebook|0|1',
    "Facebook's in-app browser on an iPhone";
is get('GET /dev', 'User-Agent' => $ua{vivaldi}), 'desktop|desktop|windows|vivaldi|0|0',
    'Vivaldi, by the product after Chrome and Safari';

# --- visitor history, interests, lifecycle (signed profile cookie) --------------------------
my %jar;
sub visit {
    my ($path, @h) = @_;
    my $cookie = join '; ', map { "$_=$jar{$_}" } sort keys %jar;
    push @h, Cookie => $cookie if $cookie;
    my $r = $t->request("GET $path", headers => \@h);
    for my $sc ($r->header_values('Set-Cookie')) {
        $jar{$1} = $2 if $sc =~ /^([^=]+)=([^;]*)/;
    }
    (my $b = $r->{body} // '') =~ s/\n\z//;
    return $b;
}
is visit('/vis/a', Referer => 'https://www.google.com/search?q=bottes'),
    'new|new=1|visits=1|views=1|first=search|last=search|top=|life=anonymous',
    'first page view: a new visitor, first touch from search';
ok $jar{tailor_profile}, 'the profile cookie is set';
ok length($jar{tailor_profile}) < 400, 'the profile cookie is under 400 bytes (' . length($jar{tailor_profile}) . ')';
is visit('/vis/shoes/boots'), 'shoe-fan|new=0|visits=1|views=2|first=search|last=search|top=shoes|life=anonymous',
    'second view, same visit: a shoe page makes shoes the top interest';
is visit('/vis/shoes/sneakers'), 'shoe-fan|new=0|visits=1|views=3|first=search|last=search|top=shoes|life=anonymous',
    'third view';
sleep 2.2;    # longer than tailor_visit_timeout (the profile keeps whole seconds)
is visit('/vis/bags/x?utm_medium=email&utm_source=nl'),
    'returning|new=0|visits=2|views=4|first=search|last=email|top=shoes|life=anonymous',
    'after the visit timeout: a second visit; last touch email, first touch kept';
visit('/vis/bags/y');
is visit('/vis/bags/z'), 'returning|new=0|visits=2|views=6|first=search|last=email|top=bags|life=anonymous',
    'three bag views overtake two shoe views';
# Lifecycle sources are signed: the values the site's backend sets (docs/privacy.md).
sub signed {
    my ($stage, $value) = @_;
    (my $sig = Digest::SHA::hmac_sha256_base64("lifecycle:$stage:$value", $secret)) =~ tr{+/}{-_};
    return "$value." . substr($sig, 0, 22);
}
$jar{logged_in} = signed('registered', '1');
like visit('/vis/a'), qr/\|life=registered$/, 'a login cookie: registered';
delete $jar{logged_in};
like visit('/vis/a', 'X-Orders' => signed('orders', '1')), qr/\|life=customer$/, 'one order (header): customer';
like visit('/vis/a', 'X-Orders' => signed('orders', '3')), qr/^loyal\|.*\|life=repeat_customer$/, 'three orders: repeat customer';
like visit('/vis/a'), qr/^loyal\|.*\|life=repeat_customer$/, 'lifecycle is sticky in the profile';

# Tampered, truncated, oversized, garbage profile cookies: a new visitor, never trusted.
my $good = $jar{tailor_profile};
my $flip = $good;
substr($flip, 10, 1) = substr($flip, 10, 1) eq 'A' ? 'B' : 'A';
my %bad = (
    tampered  => $flip,
    truncated => substr($good, 0, length($good) - 5),
    oversized => $good x 20,
    garbage   => '%00%ff%fe<script>',
    empty     => '',
);
for my $k (sort keys %bad) {
    my $r = $t->request('GET /vis/a', headers => [Cookie => "tailor_id=$jar{tailor_id}; tailor_profile=$bad{$k}"]);
    is $r->{status}, 200, "$k profile cookie: served";
    like $r->{body}, qr/^new\|new=1\|visits=1\|views=1\|/, "$k profile cookie: treated as a new visitor";
}
sleep 0.3;
my $status = decode_json($t->request('GET /status')->{body});
cmp_ok $status->{errors}{profile}, '>=', 4, 'rejected profile cookies are counted (' . ($status->{errors}{profile} // 0) . ')';

# --- language and time -----------------------------------------------------------------------
is get('GET /lang', 'Accept-Language' => 'de-CH, en;q=0.8'), 'de|de', 'de-CH falls back to de';
is get('GET /lang', 'Accept-Language' => 'es, en;q=0.5, fr;q=0.9'), 'other|fr', 'q-values honoured';
is get('GET /lang', 'Accept-Language' => 'en-US,en;q=0.9'), 'other|en', 'en-US: en';
is get('GET /lang', 'Accept-Language' => 'ja'), 'other|fr', 'no match: the first configured language';
is get('GET /lang'), 'other|fr', 'no header: the first configured language';

my @lt = localtime;
my $r = get('GET /time');
my ($v, $hour, $wd, $date) = split /\|/, $r;
is $v, 'clock', 'time.* in rules';
ok $hour == $lt[2] || $hour == ($lt[2] + 1) % 24, "time.hour is the server's hour ($hour)";
is $wd, (qw(sunday monday tuesday wednesday thursday friday saturday))[$lt[6]], 'time.weekday'
    if $hour == $lt[2];
like $date, qr/^\d{4}-\d\d-\d\d$/, 'time.date is YYYY-MM-DD';

# --- hostile input: the default variant, status 200, no crash --------------------------------
my $big = 'x' x 10240;
is get('GET /dev', 'User-Agent' => "Mozilla/5.0 (iPhone; $big)"), 'phone|smartphone|ios|other|0|1',
    '10 KB User-Agent: classified from its start';
like get('GET /ref', Referer => "https://www.google.com/search?q=$big"), qr/^search\|search\|google\|/,
    '10 KB Referer';
is get('GET /lang', 'Accept-Language' => join(',', ('zz;q=0.1') x 1200)), 'other|fr',
    '10 KB Accept-Language';
like get('GET /ref?utm_campaign=%FF%FE%80&utm_source=%C3%28'), qr/^plain\|/, 'invalid UTF-8 in the query: the default';
like get('GET /ref?utm_campaign=%zz%4&utm_source=%'), qr/^plain\|/, 'bad percent-encoding in the query: the default';
like get('GET /ref', Referer => "https://www.google.com/search?q=\xff\xfe%C3%28"), qr/^search\|search\|google\|/,
    'invalid UTF-8 in the referrer';
for my $u ('http://', '://x', '%%%', 'https://[::1', 'javascript:alert(1)', 'https://' . ('a.' x 2000) . 'com/') {
    like get('GET /ref', Referer => $u), qr/^plain\|/, "malformed referrer URL '" . substr($u, 0, 20) . "': the default";
}
like get('GET /ref/%2e%2e/%2e%2e/etc/passwd?q=%00'), qr/^(plain\||status 40)/, 'dot segments and NUL in the query';
like get('GET /dev', 'User-Agent' => "\x01\x02\xff\xfe"), qr/^desktop\|/, 'binary User-Agent';
like get('GET /dev', 'Sec-CH-UA-Mobile' => $big, 'Sec-CH-UA-Platform' => "\"$big"), qr/^\w+\|/, 'huge client hints';

$t->stop;
my $log = $t->error_log;
unlike $log, qr/exited on signal/, 'no worker crashed';
unlike $log, qr/\[(?:error|crit|alert|emerg)\]/, 'nothing above warn in the error log at request time';

done_testing;
