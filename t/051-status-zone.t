# The status zone's capacity: a counter that gets no slot (the zone full, a label too long) is
# logged at load and counted as tailor_errors_total{kind="status_full"}; names no
# configuration has used for two reloads give their slots to new ones; tailor_status_zone
# sizes it.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;

require_tailor_module();

# $n variants of one page, named PREFIX0 .. PREFIX(n-1); "?v=K" picks variant K.
sub rules {
    my ($prefix, $n) = @_;
    my $r = "page \"/*\" {\n";
    $r .= "  variant \"$prefix$_\" when query(\"v\") == \"$_\"\n" for 0 .. $n - 1;
    return $r . "  default \"${prefix}default\"\n}\n";
}

sub status {
    my ($t, $want) = @_;
    my $deadline = time + 5;
    while (1) {
        my $s = decode_json($t->request('GET /status')->{body});
        return $s if $s->{requests_total} >= $want || time > $deadline;
        select undef, undef, undef, 0.05;
    }
}

sub count_of {
    my ($s, $variant) = @_;
    my ($c) = grep { $_->{variant} eq $variant } @{ $s->{variants} };
    return $c ? $c->{count} : undef;
}

# 32k holds 120 counters: 11 fixed ones (requests, reloads, errors) and 109 variants.
my $t = Tailor::Test::Server->new(
    http_config => "tailor_rules conf/site.rules;\ntailor_status_zone 32k;",
    config      => "location / { tailor on; return 200 \"\$tailor_variant\\n\"; }\n"
                 . "location = /status { tailor off; tailor_status; }\n",
    user_files  => { 'conf/site.rules' => rules('a', 100) },
);
$t->start;
$t->request('GET /?v=7') for 1 .. 3;
my $s = status($t, 3);
is count_of($s, 'a7'), 3, 'counted while the zone has room';
is $s->{errors}{status_full}, 0, 'status_full listed, 0';
unlike $t->error_log, qr/counter\(s\) not kept/, 'nothing logged while the zone has room';

# 100 more names: the first configuration's names are still live (one reload ago), so some
# of the new ones get no slot: logged once, and their requests count as status_full.
ok $t->reload(user_files => { 'conf/site.rules' => rules('b', 100) }), 'reload to 100 new names';
like $t->error_log, qr/tailor: \d+ counter\(s\) not kept \(the status zone holds 120/,
    'the load logs the counters not kept';
my %missing;
$s = status($t, 3);
for my $k (0 .. 99) {
    $missing{$k} = 1 unless defined count_of($s, "b$k");
}
ok scalar(keys %missing) > 0, scalar(keys %missing) . ' of the new names got no slot';
my ($k) = sort { $a <=> $b } keys %missing;
$t->request("GET /?v=$k") for 1 .. 4;
$s = status($t, 7);
is $s->{errors}{status_full}, 4, 'their requests count as status_full';
is count_of($s, 'a7'), 3, 'the old totals are kept meanwhile';

# Two loads later the first configuration's names are stale: the new names take their slots.
ok $t->reload(user_files => { 'conf/site.rules' => rules('b', 100) . "# same\n" }), 'reload again';
ok $t->reload(user_files => { 'conf/site.rules' => rules('b', 100) }), 'and again';
$t->request("GET /?v=$k") for 1 .. 2;
$s = status($t, 9);
is count_of($s, "b$k"), 2, "b$k has a slot now and counts";
is $s->{errors}{status_full}, 4, 'status_full no longer grows';
is $s->{requests_total}, 9, 'requests_total kept across the reloads';
unlike $t->error_log, qr/exited on signal/, 'no crash';
$t->stop;

# A label over 121 bytes never fits: logged and counted the same way.
my $long = 'x' x 130;
$t = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => "location / { tailor on; return 200 \"\$tailor_variant\\n\"; }\n"
                 . "location = /status { tailor off; tailor_status; }\n",
    user_files  => { 'conf/site.rules' => "page \"/\" { default \"$long\" }\n" },
);
$t->start;
is $t->request('GET /')->{body}, "$long\n", 'the long variant is served';
$s = status($t, 1);
is $s->{errors}{status_full}, 1, 'and counted as status_full';
like $t->error_log, qr/1 counter\(s\) not kept .* "\/" "x{130}"/, 'the load names it';
$t->stop;

# Too small a zone fails nginx -t.
$t = Tailor::Test::Server->new(
    http_config => "tailor_rules conf/site.rules;\ntailor_status_zone 8k;",
    config      => 'location / { tailor on; return 200 "ok\n"; }',
    user_files  => { 'conf/site.rules' => "page \"/\" { default \"home\" }\n" },
);
my ($ok, $out) = $t->test_config;
ok !$ok, 'tailor_status_zone 8k fails nginx -t';
like $out, qr/tailor_status_zone of 8192 bytes is too small/, 'with the reason';

done_testing;
