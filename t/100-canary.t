# Canary and A/B splits between upstreams with $tailor_experiment_NAME (docs/canary.md):
# two backends, 2,000 visitors split 90/10, sticky from their very first request, each one's
# backend equal to the bucketing spec (computed here from scratch: XXH3 in Perl) and to
# `tailorc assign`; a ramp to 50/50 keeps every canary visitor on the canary; the audience,
# bots, API clients keyed by a header or the address, the fallback to the stable group when
# the canary fails, and the exposure counters of tailor_status.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;
use Math::BigInt;

require_tailor_module();

# --- the bucketing spec, independently: b(s, u) = XXH3_64bits(s ":" u) mod 10000 ----------
# XXH3 (seed 0, default secret) for inputs of 17 to 128 bytes: all this test needs.
my $SECRET = pack 'C*',
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64;
my $MASK = Math::BigInt->new(2)->bpow(64)->bsub(1);

sub r64 {
    my ($s, $o) = @_;
    my ($lo, $hi) = unpack 'VV', substr($s, $o, 8);
    return Math::BigInt->new($hi)->blsft(32)->bior($lo);
}

sub mix16 {
    my ($in, $i, $k) = @_;
    my $a = r64($in, $i)->bxor(r64($SECRET, $k));
    my $b = r64($in, $i + 8)->bxor(r64($SECRET, $k + 8));
    my $p = $a->bmul($b);
    return $p->copy->band($MASK)->bxor($p->copy->brsft(64));
}

sub xxh3_17to128 {
    my ($in) = @_;
    my $len = length $in;
    die "xxh3_17to128: $len bytes\n" if $len < 17 || $len > 128;
    my $acc = Math::BigInt->new($len)->bmul(Math::BigInt->from_hex('9E3779B185EBCA87'));
    my @pairs = ([0, 0], [$len - 16, 16]);
    if ($len > 32) {
        push @pairs, [16, 32], [$len - 32, 48];
        if ($len > 64) {
            push @pairs, [32, 64], [$len - 48, 80];
            push @pairs, [48, 96], [$len - 64, 112] if $len > 96;
        }
    }
    $acc->badd(mix16($in, @$_)) for @pairs;
    my $h = $acc->band($MASK);
    $h->bxor($h->copy->brsft(37));
    $h->bmul(Math::BigInt->from_hex('165667919E3779F9'))->band($MASK);
    $h->bxor($h->copy->brsft(32));
    return $h;
}

sub bucket {
    my ($s, $u) = @_;
    my $in = "$s:$u";
    utf8::encode($in) if utf8::is_utf8($in);
    return xxh3_17to128($in)->bmod(10000)->numify;
}

# The spec's own test vectors (docs/experiments.md) check the implementation above.
is bucket('variant:checkout', 'abc'), 4905, 'spec vector variant:checkout abc';
is bucket('variant:hero-2026', '3f9a1c2e-7b4d-4e8a-9c1f-2d3e4f5a6b7c'), 6293,
    'spec vector variant:hero-2026 (54 bytes)';
is bucket('variant:pricing', '2001:db8::1'), 3685, 'spec vector variant:pricing 2001:db8::1';
is bucket('traffic:pricing', '203.0.113.9'), 954, 'spec vector traffic:pricing 203.0.113.9';

# Two variants, weights (w1, w2): the first variant below floor(w1 * 10000 / (w1 + w2)).
sub spec_variant {
    my ($salt, $unit, $w1, $w2, $names) = @_;
    my $cut = int($w1 * 10000 / ($w1 + $w2));
    return bucket("variant:$salt", $unit) < $cut ? $names->[0] : $names->[1];
}

# --- the configuration: read from docs/canary.md (its blocks marked "tested") -----------
my $doc_path = do { (my $d = __FILE__) =~ s{[^/]*$}{}; ($d || './') . '../docs/canary.md' };
open my $doc_fh, '<', $doc_path or die "cannot read $doc_path: $!";
my $doc = do { local $/; <$doc_fh> };
close $doc_fh;
my %block;
while ($doc =~ /^<!-- tested: (\w+) -->\n```[a-z]*\n(.*?)^```$/msg) { $block{$1} = $2 }
ok $block{$_}, "docs/canary.md has the tested $_ block" for qw(rules http server);

my ($p_stable, $p_canary, $p_dead);
$p_stable = Tailor::Test::free_port();
do { $p_canary = Tailor::Test::free_port() } while $p_canary == $p_stable;
do { $p_dead = Tailor::Test::free_port() } while $p_dead == $p_stable || $p_dead == $p_canary;

sub http_config {
    my ($canary_port) = @_;
    my $conf = $block{http};
    $conf =~ s/127\.0\.0\.1:8081\b/127.0.0.1:$p_stable/ or die 'no stable server in the doc';
    $conf =~ s/127\.0\.0\.1:8082\b/127.0.0.1:$canary_port/ or die 'no canary server in the doc';
    return $conf . <<"CONF";

# the two backends of this test
server { listen 127.0.0.1:$p_stable; location / { return 200 "stable\\n"; } }
server { listen 127.0.0.1:$p_canary; location / { return 200 "canary\\n"; } }
CONF
}

my $config = $block{server};

sub rules {
    my ($stable, $canary) = @_;
    my $rules = $block{rules};
    $rules =~ s/variants \{ stable 90, canary 10 \}/variants { stable $stable, canary $canary }/
        or die 'no checkout weights in the doc';
    return $rules;
}

my $t = Tailor::Test::Server->new(
    workers     => 2,
    http_config => http_config($p_canary),
    config      => $config,
    user_files  => { 'conf/site.rules' => rules(90, 10) },
);
$t->start;

# --- 2,000 new visitors: the first request is routed with the ID it is about to receive ---
my $N = 2000;
my (@ids, %backend, %count);
my ($bad_first, $bad_header, $no_cookie) = (0, 0, 0);
for my $i (1 .. $N) {
    my $r = $t->request('GET /checkout/start');
    die "request $i: $r->{status} $r->{body}" unless $r->{status} == 200;
    my ($id) = map { /^tailor_id=([A-Za-z0-9_-]{22});/ ? $1 : () } $r->header_values('Set-Cookie');
    unless (defined $id) { $no_cookie++; next }
    chomp(my $b = $r->{body});
    push @ids, $id;
    $backend{$id} = $b;
    $count{$b}++;
    $bad_header++ unless ($r->header('X-Checkout') // '') eq "[$b]";
}
is $no_cookie, 0, 'every first response sets the visitor cookie';
is scalar(@ids), $N, "$N visitors";
is $bad_header, 0, '$tailor_experiment_checkout names the backend the request went to';

# 90/10: canary ~ Binomial(2000, 0.1), sd 13.4; 4.5 sd either side
my $canary = $count{canary} // 0;
diag sprintf 'split 90/10: %d stable, %d canary (%.2f %%)', $count{stable} // 0, $canary,
    100 * $canary / $N;
ok $canary >= 140 && $canary <= 260, "canary share within tolerance ($canary of $N)";

my $spec_mismatch = grep { $backend{$_} ne spec_variant('checkout', $_, 90, 10, [qw(stable canary)]) } @ids;
is $spec_mismatch, 0, 'each visitor\'s backend (first request included) is the spec\'s variant';

# --- sticky: every visitor's next request goes where the first went -----------------------
my $moved = 0;
for my $id (@ids) {
    my $r = $t->request('GET /checkout/pay', headers => [Cookie => "tailor_id=$id"]);
    chomp(my $b = $r->{body});
    $moved++ if $b ne $backend{$id};
    $bad_first++ if $r->header_values('Set-Cookie') && grep { /^tailor_id=/ } $r->header_values('Set-Cookie');
}
is $moved, 0, 'every visitor stays on the same backend for the next request';
is $bad_first, 0, 'a returning visitor keeps the ID (no new cookie)';

# --- tailorc assign answers what nginx routed ------------------------------------------
SKIP: {
    skip 'TAILOR_BUILD not set', 2 unless $ENV{TAILOR_BUILD};
    my $ids_file = $t->prefix . '/ids.txt';
    open my $fh, '>', $ids_file or die $!;
    print $fh "$_\n" for @ids;
    close $fh;
    my $rules = $t->prefix . '/conf/site.rules';
    my $out = `$ENV{TAILOR_BUILD}/tailorc assign '$rules' --experiment checkout < '$ids_file'`;
    is $?, 0, 'tailorc assign ran';
    my %assigned = map { my @f = split /\t/; ($f[0] => $f[2]) } split /\n/, $out;
    my $disagree = grep { ($assigned{$_} // '?') ne $backend{$_} } @ids;
    is $disagree, 0, "tailorc assign agrees with nginx's routing for all $N IDs";
}

# --- exposures: what tailor_status counts for the split ---------------------------------
sub status {
    my ($want_total) = @_;
    my $deadline = time + 5;
    while (1) {
        my $s = decode_json($t->request('GET /tailor-status')->{body});
        my %e = map { ("$_->{experiment}:$_->{variant}" => $_->{count}) } @{ $s->{exposures} };
        my $sum = 0;
        $sum += $_ for values %e;
        return \%e if $sum >= $want_total || time > $deadline;
        select undef, undef, undef, 0.05;
    }
}
my $e = status(2 * $N);
is $e->{'checkout:canary'} // 0, 2 * $canary, 'exposures_total{checkout,canary}: one per canary request';
is $e->{'checkout:stable'} // 0, 2 * ($N - $canary), 'exposures_total{checkout,stable}: one per stable request';

# --- the access log says which group served each request ------------------------------
sub canary_log {
    open my $fh, '<', $t->prefix . '/logs/canary.log' or return '';
    local $/;
    return scalar <$fh>;
}
my $log = canary_log();
my $logged_canary = () = $log =~ /checkout=canary upstream=127\.0\.0\.1:$p_canary upstream_status=200 status=200$/mg;
my $logged_stable = () = $log =~ /checkout=stable upstream=127\.0\.0\.1:$p_stable upstream_status=200 status=200$/mg;
is $logged_canary, 2 * $canary, 'access log: every canary request served by the canary group';
is $logged_stable, 2 * ($N - $canary), 'access log: every stable request served by the stable group';

# --- the audience: outside it, always the stable group --------------------------------
my @on_canary = grep { $backend{$_} eq 'canary' } @ids;
my ($outside_stable, $outside_empty) = (0, 0);
for my $id (@on_canary) {
    my $r = $t->request('GET /checkout/pay',
                        headers => [Cookie => "tailor_id=$id", 'X-Legacy-Client' => '1']);
    $outside_stable++ if $r->{body} eq "stable\n";
    $outside_empty++ if ($r->header('X-Checkout') // '') eq '[]';
}
is $outside_stable, scalar(@on_canary), 'canary visitors outside the audience get the stable backend';
is $outside_empty, scalar(@on_canary), '... and an empty $tailor_experiment_checkout';

# --- bots are never enrolled: the stable group ------------------------------------------
my $bot_stable = 0;
for my $id (@on_canary[0 .. 49]) {
    my $r = $t->request('GET /checkout/pay', headers => [Cookie => "tailor_id=$id",
        'User-Agent' => 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)']);
    $bot_stable++ if $r->{body} eq "stable\n";
}
is $bot_stable, 50, 'a crawler with a canary visitor\'s cookie gets the stable backend';

# --- API clients without cookies: unit header("X-Client-Id"), unit ip --------------------
my ($api_bad, $api_unstable, $api_canary) = (0, 0, 0);
for my $c (1 .. 200) {
    my $cid = sprintf 'client-%05d', $c;
    my @seen = map { $t->request("GET /api/orders/$_", headers => ['X-Client-Id' => $cid])->{body} } 1 .. 2;
    chomp @seen;
    $api_unstable++ if $seen[0] ne $seen[1];
    $api_bad++ if $seen[0] ne spec_variant('api', $cid, 80, 20, [qw(stable canary)]);
    $api_canary++ if $seen[0] eq 'canary';
}
diag "api split 80/20 by X-Client-Id: $api_canary of 200 on the canary";
is $api_unstable, 0, 'an API client (X-Client-Id) keeps its backend';
is $api_bad, 0, 'each API client\'s backend is the spec\'s variant for its X-Client-Id';
my $no_id = $t->request('GET /api/orders/1');
is $no_id->{body}, "stable\n", 'an API request without X-Client-Id (empty unit): stable';
my $ip = $t->request('GET /api-ip/x');
is $ip->{body}, spec_variant('api_by_ip', '127.0.0.1', 50, 50, [qw(stable canary)]) . "\n",
    'unit ip: the client address\'s variant';

# --- ramp: canary weight 10 -> 50; nobody leaves the canary -----------------------------
ok $t->reload(user_files => { 'conf/site.rules' => rules(50, 50) }), 'reload with canary 50 %';
my ($left, $ramp_spec, %after) = (0, 0);
for my $id (@ids) {
    my $r = $t->request('GET /checkout/pay', headers => [Cookie => "tailor_id=$id"]);
    chomp(my $b = $r->{body});
    $after{$b}++;
    $left++ if $backend{$id} eq 'canary' && $b ne 'canary';
    $ramp_spec++ if $b ne spec_variant('checkout', $id, 50, 50, [qw(stable canary)]);
}
is $left, 0, 'every visitor who was on the canary is still on it after the ramp';
is $ramp_spec, 0, 'after the ramp each visitor\'s backend is the spec\'s variant';
my $canary50 = $after{canary} // 0;
diag sprintf 'split 50/50 after the ramp: %d canary (%.2f %%), %d moved stable -> canary',
    $canary50, 100 * $canary50 / $N, $canary50 - $canary;
ok $canary50 >= 899 && $canary50 <= 1101, "canary share after the ramp within tolerance ($canary50)";

# --- the canary fails: its visitors fall back to the stable group ----------------------
ok $t->reload(http_config => http_config($p_dead)), 'reload with the canary group down';
my $fallback = 0;
for my $id (@on_canary[0 .. 19]) {
    my $r = $t->request('GET /checkout/pay', headers => [Cookie => "tailor_id=$id"]);
    $fallback++ if $r->{status} == 200 && $r->{body} eq "stable\n";
}
is $fallback, 20, 'with the canary down, its visitors are served by the stable group';
# the log line is written after the response went out: wait for the last one
my $failed_over = 0;
for (my $deadline = time + 5; time <= $deadline; select undef, undef, undef, 0.05) {
    $failed_over = () = canary_log() =~ m{checkout=canary upstream=127\.0\.0\.1:$p_dead : 127\.0\.0\.1:$p_stable upstream_status=502 : 200 status=200$}mg;
    last if $failed_over >= 20;
}
is $failed_over, 20, 'access log: the canary\'s failure and the stable answer, per request';

unlike $t->error_log, qr/\[(?:alert|crit|emerg)\]|exited on signal/, 'no alert, crash or emerg';
$t->stop;
done_testing;
