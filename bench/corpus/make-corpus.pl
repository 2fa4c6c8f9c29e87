#!/usr/bin/perl
# Generates the benchmark's request corpus and the data files every configuration reads, all
# from one seed, so the four configurations see exactly the same visitors and data:
#
#   corpus.lua      rows { path, client_ip, user_agent, referer, cookie, accept_language } for
#                   bench/lua/wrk-corpus.lua (wrk cycles through them)
#   corpus.tsv      the same rows, tab-separated, for the runner's cross-configuration check
#   pages/          one 1 KB static page per path in the corpus (index.html for "/" paths)
#   crm.csv         the CRM table (Tailor: table crm = csv(...)), keyed by visitor ID
#   crm-map.conf    the same table as nginx `map` blocks (native configuration)
#   crm.lua         the same table as a Lua module (Lua configuration)
#   bench.secret    the key (tailor_secret) that signs Tailor's profile cookie and the `tp`
#                   history cookie of the native/Lua equivalents
#
# Returning visitors carry both history cookies with the same counters: Tailor's signed
# profile cookie (`tailor_profile`, format v1 of signals/visitor_profile.h) and `tp`
# (VISITS.PAGEVIEWS.FIRST_MEDIUM.SIG, HMAC-SHA1) for the native/Lua equivalents. The profile's
# last-seen time is the generation time, so during a run (< 30 min) each request continues the
# same visit: Tailor counts visits as stored and pageviews as stored + 1 (this request).
#
# Visitors are a fixed pool with a stable identity (visitor ID, IP, User-Agent, language,
# history); requests pick visitors with a skewed (Zipf-like) popularity, so some visitors come
# back often, as on a real site. About 10 % of requests carry no cookie (new visitors).
#
# Client IPs come from three pools: the networks of geo/make-demo-db.pl (documentation
# ranges), the known IPs of MaxMind's GeoIP2-City-Test.mmdb, and addresses neither database
# knows. Whichever database a run uses, some lookups hit and some miss, as in production.
#
# Usage: make-corpus.pl OUTDIR [--requests N] [--visitors N] [--seed N]
use strict;
use warnings;
use File::Path qw(make_path);
use Digest::SHA qw(hmac_sha1_hex hmac_sha256);
use MIME::Base64 qw(encode_base64);
use Getopt::Long;

my ($requests, $visitors, $seed) = (20000, 3000, 42);
GetOptions('requests=i' => \$requests, 'visitors=i' => \$visitors, 'seed=i' => \$seed)
    or die "usage: $0 OUTDIR [--requests N] [--visitors N] [--seed N]\n";
my $out = shift or die "usage: $0 OUTDIR [--requests N] [--visitors N] [--seed N]\n";
make_path("$out/pages");
srand($seed);

sub pick { return $_[ int(rand(@_)) ] }

# Weighted choice: pick_w([weight, value], ...).
sub pick_w {
    my $total = 0;
    $total += $_->[0] for @_;
    my $r = rand($total);
    for (@_) { return $_->[1] if ($r -= $_->[0]) < 0 }
    return $_[-1][1];
}

my @b64 = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');

# A Tailor visitor ID: 16 random bytes in unpadded base64url (22 characters, the last one
# carrying only 2 significant bits, as a real encoder writes it).
sub visitor_id {
    my $id = join '', map { $b64[ int(rand(64)) ] } 1 .. 21;
    return $id . $b64[ int(rand(4)) * 16 ];
}

# --- What visitors look like -------------------------------------------------------------

my @user_agents = (
    [14, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
    [4,  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86'],
    [3,  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'],
    [6,  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15'],
    [4,  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
    [1,  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
    [1,  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'],
    [16, 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1'],
    [3,  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1'],
    [14, 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'],
    [4,  'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36'],
    [2,  'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0'],
    [4,  'Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1'],
    [2,  'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
    [2,  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
    [1,  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'],
    [1,  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)'],
);

my @ip_pools = (
    # geo/make-demo-db.pl networks: FR (Paris), DE (Berlin), GB (London), US (San Francisco).
    [12, sub { '198.51.100.' . int(rand(128)) }],
    [6,  sub { '198.51.100.' . (128 + int(rand(128))) }],
    [4,  sub { '203.0.113.' . int(rand(256)) }],
    [4,  sub { '192.0.2.' . int(rand(256)) }],
    # Known IPs of MaxMind's GeoIP2-City-Test.mmdb (see its SOURCE.md).
    [2,  sub { pick('81.2.69.142', '81.2.69.160', '2.125.160.216', '89.160.20.112',
                    '89.160.20.128', '216.160.83.56', '175.16.199.0') }],
    # Unknown to both databases (CGNAT space): geo signals are missing.
    [4,  sub { '100.64.' . int(rand(256)) . '.' . int(rand(256)) }],
);

my @languages = (
    [10, 'fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7'], [4, 'fr'], [5, 'en-US,en;q=0.9'],
    [3, 'en-GB,en;q=0.9'], [3, 'de-DE,de;q=0.9,en;q=0.8'], [1, 'es-ES,es;q=0.9'],
    [1, 'ja-JP,ja;q=0.9'],
);

my @first_media = ([4, 'direct'], [4, 'search'], [2, 'social'], [2, 'email'], [1, 'paid']);

# Referrer and landing query of one request: [weight, referer, query].
my @sources = (
    [22, '', ''],
    [10, 'https://www.google.com/', ''],
    [6,  'https://www.google.fr/', ''],
    [2,  'https://www.bing.com/search?q=chaussures+cuir', ''],
    [1,  'https://duckduckgo.com/', ''],
    [1,  'https://search.yahoo.com/search?p=sneakers', ''],
    [4,  'https://www.facebook.com/', ''],
    [3,  'https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example%2F', ''],
    [2,  'https://t.co/Ab12Cd34', ''],
    [1,  'https://www.linkedin.com/feed/', ''],
    [1,  'https://www.instagram.com/', ''],
    [2,  'https://mail.google.com/', ''],
    [1,  'https://outlook.live.com/', ''],
    [1,  'https://chatgpt.com/', ''],
    [3,  '', 'utm_source=newsletter&utm_medium=email&utm_campaign=blackfriday-2026'],
    [2,  '', 'utm_source=crm&utm_medium=email&utm_campaign=welcome'],
    [3,  'https://www.google.com/', 'gclid=EAIaIQobChMI7vKk2Mnu'],
    [1,  '', 'utm_source=facebook&utm_medium=cpc&utm_campaign=winter'],
    [1,  'https://www.lemonde.fr/', ''],
    [8,  'INTERNAL', ''],
);

my @paths = (
    [20, '/'], [6, '/shop/'], [5, '/shop/shoes'], [4, '/shop/bags'], [3, '/shop/coats'],
    [2, '/shop/sale'], [5, '/p/sneakers-blanc'], [4, '/p/sneakers-noir'], [3, '/p/bottes-cuir'],
    [3, '/p/sac-weekend'], [2, '/p/manteau-laine'], [2, '/about'], [2, '/contact'],
    [2, '/blog/'], [1, '/blog/tendances-hiver'], [1, '/cart'],
);

# --- The visitor pool ---------------------------------------------------------------------

my @pool;
for (1 .. $visitors) {
    my $visits = int(1 + (rand() ** 3) * 40);  # most visitors have few visits
    push @pool, {
        id        => visitor_id(),
        ip        => pick_w(@ip_pools)->(),
        ua        => pick_w(@user_agents),
        lang      => pick_w(@languages),
        visits    => $visits,
        pageviews => $visits * (1 + int(rand(6))),
        first     => pick_w(@first_media),
        cart      => rand() < 0.15 ? 1 + int(rand(4)) : 0,
    };
}

# --- Data files -----------------------------------------------------------------------------

my $secret = join '', map { $b64[ int(rand(64)) ] } 1 .. 48;
open my $sf, '>', "$out/bench.secret" or die "$out/bench.secret: $!\n";
print $sf $secret;
close $sf;

# CRM: about 30 % of the visitors are known customers.
my @crm;
for my $v (@pool) {
    next unless rand() < 0.3;
    my $tier = pick_w([1, 'gold'], [3, 'silver'], [6, 'bronze']);
    my $spend = $tier eq 'gold' ? 800 + int(rand(4000)) : $tier eq 'silver' ? 200 + int(rand(900))
              : int(rand(300));
    push @crm, [ $v->{id}, $tier, $spend, rand() < 0.6 ? 'true' : 'false' ];
}
open my $csv, '>', "$out/crm.csv" or die "$out/crm.csv: $!\n";
print $csv "id,tier:string,total_spend:number,opted_in:bool\n";
print $csv join(',', @$_), "\n" for @crm;
close $csv;

open my $map, '>', "$out/crm-map.conf" or die "$out/crm-map.conf: $!\n";
print $map "# Generated by bench/corpus/make-corpus.pl from crm.csv: the CRM table as maps.\n";
for my $col ([1, 'crm_tier'], [2, 'crm_total_spend'], [3, 'crm_opted_in']) {
    print $map "map \$cookie_tailor_id \$$col->[1] {\n    default \"\";\n";
    print $map "    $_->[0] $_->[$col->[0]];\n" for @crm;
    print $map "}\n";
}
close $map;

open my $lua, '>', "$out/crm.lua" or die "$out/crm.lua: $!\n";
print $lua "-- Generated by bench/corpus/make-corpus.pl from crm.csv: id -> { tier, total_spend, opted_in }.\nreturn {\n";
print $lua "  [\"$_->[0]\"] = { \"$_->[1]\", $_->[2], $_->[3] },\n" for @crm;
print $lua "}\n";
close $lua;

# Pages: every path of the corpus exists as a 1 KB file, so each configuration serves a
# plain static file with no rewrite (Tailor reads the request path as sent).
sub page_body {
    my ($path) = @_;
    my $head = "<!doctype html><html><head><meta charset=\"utf-8\"><title>$path</title></head><body>\n";
    my $tail = "</body></html>\n";
    my $fill = "<p>" . ("Tailor benchmark page. " x 60) . "</p>\n";
    return substr($head . $fill, 0, 1024 - length($tail)) . $tail;
}
for my $p (map { $_->[1] } @paths) {
    my $file = $p =~ m{/$} ? "$out/pages${p}index.html" : "$out/pages$p";
    (my $dir = $file) =~ s{/[^/]*$}{};
    make_path($dir);
    open my $pf, '>', $file or die "$file: $!\n";
    print $pf page_body($p);
    close $pf;
}

# Tailor's profile cookie, format v1 (signals/visitor_profile.h): little-endian
#   u8 version | u32 first_seen_s | u32 last_seen_s | u16 visits | u32 pageviews |
#   u8 first_medium | u8 last_medium | u8 lifecycle | u8 len + first_source |
#   u8 len + last_source | u8 n_interests | 16-byte tag
# tag = HMAC-SHA256(secret, "tailor-profile" || payload)[0..16), then base64url without padding.
my %medium_code = (direct => 0, internal => 1, search => 2, social => 3, email => 4, paid => 5);
my $now = time;
sub profile_cookie {
    my ($v) = @_;
    my $first_seen = $now - 86400 * (1 + $v->{visits} * 3);
    my $payload = pack('C V V v V C C C C C C', 1, $first_seen, $now, $v->{visits}, $v->{pageviews},
                       $medium_code{ $v->{first} }, $medium_code{ $v->{first} }, 0, 0, 0, 0);
    my $tag = substr(hmac_sha256('tailor-profile' . $payload, $secret), 0, 16);
    my $b64 = encode_base64($payload . $tag, '');
    $b64 =~ tr{+/}{-_};
    $b64 =~ s/=+$//;
    return $b64;
}

# --- Requests -------------------------------------------------------------------------------

sub lua_quote {
    my ($s) = @_;
    $s =~ s/([\\"])/\\$1/g;
    return "\"$s\"";
}

# Zipf-like popularity: visitor i is drawn with weight 1/(i+10).
my @cumulative;
my $sum = 0;
for my $i (0 .. $#pool) { $sum += 1 / ($i + 10); push @cumulative, $sum }
sub pick_visitor {
    my $r = rand($sum);
    my ($lo, $hi) = (0, $#cumulative);
    while ($lo < $hi) {
        my $mid = int(($lo + $hi) / 2);
        if ($cumulative[$mid] < $r) { $lo = $mid + 1 } else { $hi = $mid }
    }
    return $pool[$lo];
}

open my $cl, '>', "$out/corpus.lua" or die "$out/corpus.lua: $!\n";
open my $ct, '>', "$out/corpus.tsv" or die "$out/corpus.tsv: $!\n";
print $cl "-- Generated by bench/corpus/make-corpus.pl (seed $seed): path, client IP, User-Agent, Referer, Cookie, Accept-Language.\nreturn {\n";
for (1 .. $requests) {
    my $v = pick_visitor();
    my ($weight, $referer, $query) = @{ pick_w(map { [ $_->[0], $_ ] } @sources) };
    my $path = pick_w(@paths);
    $referer = 'http://127.0.0.1' . pick_w(@paths) if $referer eq 'INTERNAL';
    $path .= "?$query" if $query ne '';
    $path .= ($path =~ /\?/ ? '&' : '?') . 'promo=XMAS' if rand() < 0.03;
    my $cookie = '';
    if (rand() >= 0.10) {  # 10 %: a new visitor, no cookie at all
        # The history cookie of the native/Lua equivalents: visits.pageviews.first_medium.sig
        my $payload = "$v->{visits}.$v->{pageviews}.$v->{first}";
        my $sig = substr(hmac_sha1_hex($payload, $secret), 0, 16);
        my @c = ("tailor_id=$v->{id}", "tailor_profile=" . profile_cookie($v), "tp=$payload.$sig");
        push @c, "cart=$v->{cart}" if $v->{cart};
        push @c, '_ga=GA1.1.' . (100000000 + int(rand(899999999))) . '.1732000000';
        $cookie = join '; ', @c;
    }
    my @row = ($path, $v->{ip}, $v->{ua}, $referer, $cookie, $v->{lang});
    print $cl '{', join(',', map { lua_quote($_) } @row), "},\n";
    print $ct join("\t", @row), "\n";
}
print $cl "}\n";
close $cl;
close $ct;
printf "corpus: %d requests, %d visitors, %d CRM rows in %s\n", $requests, $visitors,
    scalar(@crm), $out;
