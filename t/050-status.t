# tailor_status: live counters in shared memory, summed over workers, JSON and Prometheus.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;

require_tailor_module();

my $t = Tailor::Test::Server->new(
    workers     => 2,
    http_config => 'tailor_rules conf/site.rules;',
    config      => <<'CONF',
location / { tailor on; return 200 "$tailor_variant\n"; }
location = /status { tailor_status; }
CONF
    user_files  => { 'conf/site.rules' => <<'RULES' },
segment beta = cookie("beta") == "1"
page "/" { variant "home-beta" when beta  default "home" }
page "/shop/*" { default "shop" }
RULES
);
$t->start;

my $n = 1000;
my %want = (home => 0, 'home-beta' => 0, shop => 0);
for my $i (1 .. $n) {
    my ($path, @h, $v);
    if    ($i % 5 == 0) { $path = '/shop/x'; $v = 'shop' }
    elsif ($i % 3 == 0) { $path = '/'; @h = (Cookie => 'beta=1'); $v = 'home-beta' }
    elsif ($i % 7 == 0) { $path = '/about'; $v = undef }     # no page
    else                { $path = '/'; $v = 'home' }
    my $r = $t->request("GET $path", headers => \@h);
    die "request $i failed: $r->{status}" unless $r->{status} == 200;
    $want{$v}++ if defined $v;
}

# Counting happens in the log phase, after the response went out: let the last requests'
# workers finish logging before reading the totals.
sub status_when {
    my ($want) = @_;
    my $deadline = time + 5;
    while (1) {
        my $r = $t->request('GET /status');
        my $s = eval { decode_json($r->{body}) };
        return $r if !$s || $s->{requests_total} >= $want || time > $deadline;
        select undef, undef, undef, 0.05;
    }
}

my $json = status_when($n);
is $json->{status}, 200, 'status served';
like $json->header('Content-Type'), qr{^application/json}, 'JSON content type';
my $s = decode_json($json->{body});
is $s->{requests_total}, $n, "requests_total is $n across 2 workers";
is $s->{reloads_total}, 0, 'no reloads yet';
my %got = map { ($_->{variant} => $_->{count}) } @{ $s->{variants} };
for my $v (sort keys %want) {
    is $got{$v} // 0, $want{$v}, "variant $v counted $want{$v} times";
}
my ($home) = grep { $_->{variant} eq 'home' } @{ $s->{variants} };
is $home->{page}, '/', 'variant counter carries its page';
ok exists $s->{errors}{eval}, 'error kinds are listed';

my $prom = $t->request('GET /status?format=prometheus');
is $prom->{status}, 200, 'prometheus served';
like $prom->header('Content-Type'), qr{^text/plain}, 'prometheus content type';
like $prom->{body}, qr/^# TYPE tailor_requests_total counter$/m, 'TYPE line';
like $prom->{body}, qr/^tailor_requests_total $n$/m, "prometheus requests_total $n";
like $prom->{body}, qr/^tailor_variant_total\{page="\/",variant="home-beta"\} $want{'home-beta'}$/m,
    'prometheus variant counter';
like $prom->{body}, qr/^tailor_variant_total\{page="\/shop\/\*",variant="shop"\} $want{shop}$/m,
    'prometheus label with special characters';
like $prom->{body}, qr/^tailor_errors_total\{kind="eval"\} 0$/m, 'prometheus error counter';
like $prom->{body}, qr/^# TYPE tailor_exposures_total counter$/m, 'exposures family present';

# Counters survive a reload, and the reload is counted.
ok $t->reload(user_files => { 'conf/site.rules' => "page \"/\" { default \"home2\" }\n" }),
    'reload with new rules';
$t->request('GET /') for 1 .. 3;
my $after = decode_json(status_when($n + 3)->{body});
is $after->{requests_total}, $n + 3, 'requests_total survives the reload';
is $after->{reloads_total}, 1, 'reloads_total counts the reload';
my %after = map { ($_->{variant} => $_->{count}) } @{ $after->{variants} };
is $after{home2}, 3, 'new variant counted after reload';
is $after{home}, $want{home}, 'old variant total kept';

# Status rejects methods other than GET/HEAD.
is $t->request('POST /status', body => 'x')->{status}, 405, 'POST refused';

unlike $t->error_log, qr/exited on signal/, 'no worker crashed';
$t->stop;
done_testing;
