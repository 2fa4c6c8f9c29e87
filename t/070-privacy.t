# Privacy: without consent (tailor_consent, or Sec-GPC: 1) no cookie of any kind, no stored
# visitor data, no experiment enrolment; contextual rules keep working. $tailor_visitor_hash.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;

require_tailor_module();

my $IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 '
           . '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
my $DESKTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
            . 'Chrome/120.0.0.0 Safari/537.36';

my $rules = <<'RULES';
segment mobile      = device.type == "smartphone"
segment returning   = visitor.visits >= 2
segment from_search = referrer.medium == "search"
experiment hero {
  variants { control 50, bold 50 }
}
page "/" {
  variant "home-mobile"    when mobile
  variant "home-returning" when returning
  default "home"
}
page "/search" { variant "from-search" when from_search  default "plain" }
page "/exp" {
  variant "exp-bold"    when experiment.hero == "bold"
  variant "exp-control" when experiment.hero == "control"
  default "exp-none"
}
RULES

sub server {
    my ($extra, $secret) = @_;
    return Tailor::Test::Server->new(
        workers     => 2,
        http_config => "tailor_rules conf/site.rules;\ntailor_secret conf/secret;\n"
                     . "log_format tailor_json escape=json '{\"visitor\":\"\$tailor_visitor_hash\","
                     . "\"experiments\":\"\$tailor_experiments\",\"variant\":\"\$tailor_variant\","
                     . "\"uri\":\"\$uri\",\"status\":\$status}';\n",
        config      => "tailor on;\n$extra\naccess_log logs/tailor.log tailor_json;\n"
                     . 'location / { return 200 "$tailor_variant|$tailor_visitor|$tailor_visitor_hash\n"; }'
                     . "\nlocation = /status { tailor off; tailor_status; }\n",
        user_files  => { 'conf/site.rules' => $rules,
                         'conf/secret' => $secret // ('s3cr3t-' x 8) . "\n" },
    );
}

sub cookies { my ($r) = @_; return [ $r->header_values('Set-Cookie') ] }

my $t = server('tailor_consent $cookie_consent;');
$t->start;

# --- without consent ---------------------------------------------------------------------
my @no = (Cookie => 'consent=no');
my $r = $t->request('GET /', headers => [@no, 'User-Agent' => $IPHONE]);
is $r->{body}, "home-mobile||\n", 'no consent: device rule still picks its variant, no visitor';
is_deeply cookies($r), [], 'no consent: no Set-Cookie at all';

$r = $t->request('GET /search', headers => [@no, Referer => 'https://www.google.com/search?q=shoes']);
is $r->{body}, "from-search||\n", 'no consent: referrer rule still works';
is_deeply cookies($r), [], 'no consent: no Set-Cookie on the referrer page';

# A returning visitor's cookies are ignored without consent.
my $first = $t->request('GET /', headers => [Cookie => 'consent=yes', 'User-Agent' => $DESKTOP]);
my @set = @{ cookies($first) };
is scalar(@set), 2, 'consent: visitor and profile cookies set';
my %jar = map { /^([^=]+)=([^;]*)/ ? ($1 => $2) : () } @set;
ok $jar{tailor_id} && $jar{tailor_profile}, 'consent: tailor_id and tailor_profile';
my $jar = join '; ', map { "$_=$jar{$_}" } sort keys %jar;

# 31 minutes later is a new visit for the profile; simulate with a second request carrying
# the profile after the visit timeout is configured short (below) — here: the visitor ID.
$r = $t->request('GET /', headers => [Cookie => "consent=no; $jar", 'User-Agent' => $DESKTOP]);
is $r->{body}, "home||\n", 'no consent: stored visitor ID and profile are not read';
sub expired { [ sort map { /^([^=]+)=; .*Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT/ ? $1 : "kept: $_" } @{ cookies($_[0]) } ] }
is_deeply expired($r), ['tailor_id', 'tailor_profile'],
    'no consent: the cookies the browser still sends are expired, not refreshed';

$r = $t->request('GET /', headers => [Cookie => "consent=0; $jar"]);
is_deeply expired($r), ['tailor_id', 'tailor_profile'], 'consent=0 counts as no consent';
$r = $t->request('GET /', headers => [Cookie => 'consent=false']);
is_deeply cookies($r), [], 'consent=false counts as no consent';
$r = $t->request('GET /');
is_deeply cookies($r), [], 'an empty consent value counts as no consent';

# Experiments neither enrol nor count without consent.
for (1 .. 20) {
    $r = $t->request('GET /exp', headers => [@no]);
    die "unexpected variant $r->{body}" unless $r->{body} eq "exp-none||\n";
}
pass 'no consent: 20 requests to the experiment page all get the default';

# --- with consent --------------------------------------------------------------------------
my %seen;
for my $i (1 .. 20) {
    $r = $t->request('GET /exp', headers => [Cookie => 'consent=yes']);
    my ($v, $id, $hash) = split /\|/, $r->{body};
    $seen{$v}++;
}
ok(($seen{'exp-bold'} // 0) > 0 && ($seen{'exp-control'} // 0) > 0,
   'consent: visitors enrol in both experiment variants');
is $seen{'exp-none'} // 0, 0, 'consent: everyone is enrolled (traffic 100%)';

# visitor hash: stable for one visitor, different between visitors, no raw ID in the log.
my ($id) = $jar{tailor_id};
my $h1 = (split /\|/, $t->request('GET /', headers => [Cookie => "consent=yes; tailor_id=$id"])->{body})[2];
my $h2 = (split /\|/, $t->request('GET /', headers => [Cookie => "consent=yes; tailor_id=$id"])->{body})[2];
chomp($h1, $h2);
like $h1, qr/^[A-Za-z0-9_-]{22}$/, 'visitor hash: 22 URL-safe characters';
is $h1, $h2, 'visitor hash: stable for one visitor';
isnt $h1, $id, 'visitor hash: not the raw ID';
my $other = $t->request('GET /', headers => [Cookie => 'consent=yes']);
my $h3 = (split /\|/, $other->{body})[2];
chomp $h3;
isnt $h3, $h1, 'visitor hash: differs between visitors';

# Exposures counted only with consent.
my $deadline = time + 5;
my $s;
do { $s = decode_json($t->request('GET /status')->{body}); select undef, undef, undef, 0.05 }
    while (($s->{requests_total} // 0) < 50 && time < $deadline);
my $exposed = 0;
$exposed += $_->{count} for @{ $s->{exposures} };
is $exposed, 20, 'exposures: only the 20 consenting requests count';

my $log = do { local (@ARGV, $/) = ($t->prefix . '/logs/tailor.log'); <> } // '';
unlike $log, qr/\Q$id\E/, 'access log recipe: no raw visitor ID';
unlike $log, qr/127\.0\.0\.1/, 'access log recipe: no client IP';
like $log, qr/"visitor":"\Q$h1\E"/, 'access log recipe: the visitor hash';
like $log, qr/"experiments":"hero:(bold|control)"/, 'access log recipe: exposures';
unlike $log, qr/"experiments":"hero[^"]*","variant":"exp-none"/, 'no exposure logged without consent';
unlike $t->error_log, qr/exited on signal/, 'no crash';
$t->stop;

# --- Global Privacy Control ---------------------------------------------------------------
$t = server('');
$t->start;
$r = $t->request('GET /', headers => ['Sec-GPC' => '1', 'User-Agent' => $IPHONE]);
is $r->{body}, "home-mobile||\n", 'Sec-GPC: 1: contextual rules work, no visitor';
is_deeply cookies($r), [], 'Sec-GPC: 1: no cookie';
$r = $t->request('GET /', headers => ['Sec-GPC' => '0']);
is scalar(@{ cookies($r) }), 2, 'Sec-GPC: 0: cookies as usual (no tailor_consent: handled elsewhere)';
$t->stop;

$t = server('tailor_gpc off;');
$t->start;
$r = $t->request('GET /', headers => ['Sec-GPC' => '1']);
is scalar(@{ cookies($r) }), 2, 'tailor_gpc off: Sec-GPC is not treated as an objection';
$t->stop;

# --- the secret keys the hash ----------------------------------------------------------------
my @hashes;
for my $secret (('a' x 40) . "\n", ('b' x 40) . "\n") {
    $t = server('', $secret);
    $t->start;
    my $b = $t->request('GET /', headers => [Cookie => "tailor_id=$id"])->{body};
    chomp $b;
    push @hashes, (split /\|/, $b)[2];
    $t->stop;
}
isnt $hashes[0], $hashes[1], 'visitor hash changes with the secret';

# A secret shorter than 32 bytes fails nginx -t.
$t = server('', "short\n");
ok !$t->try_start, 'a short secret is refused';
like $t->{start_error}, qr/at least 32/, 'the message says why';

done_testing;
