# Preview tokens: ?tailor_preview=TOKEN forces a reviewer's choices (and sets a cookie);
# previews are not exposures and are not counted; bad or expired tokens are ignored and counted.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;

require_tailor_module();
my $tailorc = "$ENV{TAILOR_BUILD}/tailorc";
plan skip_all => 'no tailorc' unless -x $tailorc;

my $t = Tailor::Test::Server->new(
    workers     => 1,
    http_config => "tailor_rules conf/site.rules;\ntailor_secret conf/secret;",
    config      => 'location / { tailor on; return 200 "$tailor_variant [$tailor_experiments]\n"; }'
                 . ' location = /status { tailor_status; }',
    user_files  => {
        'conf/secret'     => ('k' x 48) . "\n",
        'conf/site.rules' => <<'RULES',
experiment hero {
  traffic 0.01%
  variants { control 50, bold 50 }
}
page "/" {
  variant "home-bold"    when experiment.hero == "bold"
  variant "home-control" when experiment.hero == "control"
  default "home"
}
RULES
    },
);
$t->start;
my $secret = $t->prefix . '/conf/secret';

sub token {
    my @args = @_;
    my $tok = `$tailorc preview-token --secret $secret @args`;
    chomp $tok;
    return $tok;
}

my $bold = token('--set hero=bold --ttl 2h');
like $bold, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'tailorc preview-token makes a URL-safe token';

# traffic 0.01%: practically nobody is enrolled without a preview.
is $t->request('GET /')->{body}, "home []\n", 'without a preview: not enrolled, default';

my $r = $t->request("GET /?tailor_preview=$bold");
is $r->{body}, "home-bold []\n", 'preview forces hero=bold, and is not an exposure';
my ($cookie) = grep { /^tailor_preview=/ } $r->header_values('Set-Cookie');
like $cookie // '', qr/^tailor_preview=\Q$bold\E; HttpOnly; SameSite=Lax; Path=\/; Max-Age=7\d{3};/,
    'the preview cookie is set for the token\'s lifetime';

$r = $t->request('GET /', headers => [Cookie => "tailor_preview=$bold"]);
is $r->{body}, "home-bold []\n", 'the cookie keeps the preview on later pages';

my $page = token('--set hero=control --variant home --ttl 1h');
is $t->request("GET /?tailor_preview=$page")->{body}, "home []\n",
    'a preview can force the page variant too';

# Tampered, foreign and expired tokens are ignored (and counted).
(my $tampered = $bold) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
is $t->request("GET /?tailor_preview=$tampered")->{body}, "home []\n", 'tampered token ignored';
is $t->request('GET /?tailor_preview=garbage%00%ff')->{body}, "home []\n", 'garbage ignored';
my $short = token('--set hero=bold --ttl 1s');
sleep 2;
is $t->request("GET /?tailor_preview=$short")->{body}, "home []\n", 'expired token ignored';

my $deadline = time + 5;
my $s;
do { $s = decode_json($t->request('GET /status')->{body}) }
    while ($s->{requests_total} < 4 && time < $deadline && select undef, undef, undef, 0.05);
is $s->{requests_total}, 4, 'preview requests are not counted as traffic (4 = 1 plain + 3 rejected)';
is $s->{errors}{preview}, 3, 'rejected tokens are counted';
my $exposed = 0;
$exposed += $_->{count} for @{ $s->{exposures} };
is $exposed, 0, 'no exposure counted for previews';
unlike $t->error_log, qr/exited on signal/, 'no crash';
$t->stop;
done_testing;
