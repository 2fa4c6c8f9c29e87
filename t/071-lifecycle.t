# tailor_lifecycle through nginx: sources are signed unless written unsigned:, so a visitor
# cannot make themselves a repeat customer with Cookie: orders=2, and the signed profile never
# vouches for a stage the site did not sign. Values are signed as docs/privacy.md says (here
# with Perl's Digest::SHA, and with tailorc sign when the build directory is given).
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;
use Digest::SHA ();
use Time::HiRes ();

require_tailor_module();

my $secret = 'lifecycle-test-secret-' . ('x' x 20);
my $rules = <<'RULES';
segment loyal    = lifecycle == "repeat_customer"
segment customer = lifecycle == "customer"
segment member   = lifecycle == "registered"
page "/" {
  variant "loyal"    when loyal
  variant "customer" when customer
  variant "member"   when member
  default "home"
}
RULES

# The backend's recipe: VALUE "." first 22 characters of base64url(HMAC-SHA256(secret,
# "lifecycle:STAGE:VALUE")).
sub signed {
    my ($stage, $value, $key) = @_;
    (my $sig = Digest::SHA::hmac_sha256_base64("lifecycle:$stage:$value", $key // $secret))
        =~ tr{+/}{-_};
    return "$value." . substr($sig, 0, 22);
}

sub server {
    my ($lifecycle, %opt) = @_;
    my $http = "tailor_rules conf/site.rules;\n";
    $http .= "tailor_secret conf/secret;\n" unless $opt{no_secret};
    $http .= $lifecycle;
    return Tailor::Test::Server->new(
        http_config => $http,
        config      => 'location / { tailor on; return 200 "$tailor_variant|$tailor_lifecycle\n"; }'
                     . "\nlocation = /status { tailor off; tailor_status; }\n",
        user_files  => { 'conf/site.rules' => $rules, 'conf/secret' => "$secret\n" },
    );
}

my $t = server("tailor_lifecycle registered cookie:logged_in;\n"
             . "tailor_lifecycle orders cookie:orders header:X-Orders;\n");
$t->start;

my %jar;
sub visit {
    my (%cookies) = @_;
    my %send = (%jar, %cookies);
    my @h;
    push @h, Cookie => join('; ', map { "$_=$send{$_}" } sort keys %send) if %send;
    my $r = $t->request('GET /', headers => \@h);
    for my $sc ($r->header_values('Set-Cookie')) {
        $jar{$1} = $2 if $sc =~ /^(tailor_[a-z]+)=([^;]*)/;
    }
    (my $b = $r->{body} // '') =~ s/\n\z//;
    return $b;
}

# --- forged values are ignored, and stay ignored --------------------------------------------
is visit(orders => '2'), 'home|anonymous', 'Cookie: orders=2 without a signature: not a customer';
ok $jar{tailor_profile}, 'the visitor has a profile cookie';
is visit(), 'home|anonymous', 'the profile does not vouch for the forged stage afterwards';
is visit(orders => '2.' . ('A' x 22)), 'home|anonymous', 'a made-up signature: ignored';
is visit(orders => signed('orders', '2', $secret . 'other')), 'home|anonymous',
    'signed with another secret: ignored';
is visit(orders => signed('registered', '2')), 'home|anonymous',
    'a value signed for another stage: ignored';
my $r = $t->request('GET /', headers => ['X-Orders' => '5']);
is $r->{body}, "home|anonymous\n", 'a forged header: ignored';

# --- signed values count -------------------------------------------------------------------
is visit(logged_in => signed('registered', '1')), 'member|registered', 'a signed login marker';
is visit(orders => signed('orders', '1')), 'customer|customer', 'a signed first order';
is visit(orders => signed('orders', '2')), 'loyal|repeat_customer', 'a signed order count of 2';
is visit(), 'loyal|repeat_customer', 'the signed stage is kept in the profile';
$r = $t->request('GET /', headers => ['X-Orders' => signed('orders', '3')]);
is $r->{body}, "loyal|repeat_customer\n", 'a signed header';

SKIP: {
    my $tailorc = defined $ENV{TAILOR_BUILD} ? "$ENV{TAILOR_BUILD}/tailorc" : '';
    skip 'no tailorc (TAILOR_BUILD)', 2 unless $tailorc && -x $tailorc;
    my $file = $t->prefix . '/conf/secret';
    chomp(my $value = `$tailorc sign --secret $file orders 2`);
    is $value, signed('orders', '2'), 'tailorc sign makes the value the backend recipe makes';
    my $fresh = $t->request('GET /', headers => [Cookie => "orders=$value"]);
    is $fresh->{body}, "loyal|repeat_customer\n", "tailorc sign's value is accepted by nginx";
}

# --- forged values are counted -------------------------------------------------------------
my $errors;
for (1 .. 100) {    # counted in the log phase, after the response
    $errors = eval { decode_json($t->request('GET /status')->{body})->{errors}{lifecycle} };
    last if ($errors // 0) >= 5;
    Time::HiRes::sleep(0.05);
}
is $errors, 5, 'tailor_errors_total{kind="lifecycle"} counts each request with a forged value';
$t->stop;

# --- trusting the client is spelled out ----------------------------------------------------
my $trusting = server("tailor_lifecycle orders unsigned:cookie:orders unsigned:header:X-Orders;\n");
$trusting->start;
is $trusting->request('GET /', headers => [Cookie => 'orders=2'])->{body},
    "loyal|repeat_customer\n", 'unsigned:cookie:NAME takes the value as sent';
is $trusting->request('GET /', headers => ['X-Orders' => '1'])->{body},
    "customer|customer\n", 'unsigned:header:NAME takes the value as sent';
$trusting->stop;

# --- configuration errors ------------------------------------------------------------------
my ($ok, $out) = server("tailor_lifecycle orders cookie:orders;\n", no_secret => 1)->test_config;
ok !$ok, 'nginx -t fails: a signed source without tailor_secret';
like $out, qr/tailor_lifecycle: error: orders source "cookie:orders" takes values signed with tailor_secret, which is not set; configure tailor_secret, or write "unsigned:cookie:orders"/,
    'the message says why and what to write';
($ok, $out) = server("tailor_lifecycle orders unsigned:cookie:orders;\n", no_secret => 1)->test_config;
ok $ok, 'nginx -t passes: an unsigned source without tailor_secret' or diag $out;
($ok, $out) = server("tailor_lifecycle orders unsigned:query:orders;\n")->test_config;
ok !$ok, 'nginx -t fails: unsigned: before something else than cookie: or header:';
like $out, qr/invalid lifecycle source "unsigned:query:orders"/, 'the source is named';

done_testing;
