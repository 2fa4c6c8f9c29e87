# Data tables through real nginx: CSV rows found by the visitor ID or by a cookie, typed
# columns, a bad row failing `nginx -t` with FILE:LINE, and hot reload while serving load:
# new data within the interval, zero failed requests, a corrupt replacement keeps the old
# table and the error log says why.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();

require_tailor_module();

my $rules = <<'RULES';
table crm  = csv("crm.csv", key: id)
table cust = csv("customers.csv", key: id, by: cookie("customer"))
segment gold  = crm.tier == "gold"
segment big   = cust.total_spend >= 1000
segment opted = cust.opted_in
segment known = exists(cust.name)
page "/" {
  variant "gold"  when gold
  variant "big"   when big
  variant "opted" when opted
  default "home"
}
RULES

my $customers = <<'CSV';
id,name:string,total_spend:number,opted_in:bool
c1,Ana,1500,no
c2,"Bé, Jr.",20,yes
c3,Zoë,5,no
007,Bond,0,no
CSV

sub server {
    my (%o) = @_;
    return Tailor::Test::Server->new(
        workers     => 2,
        http_config => "tailor_rules conf/site.rules;\ntailor_tables_reload 1s;\n",
        config      => 'location / { tailor on; return 200 "$tailor_variant $tailor_segments\n"; }',
        user_files  => {
            'conf/site.rules'     => $rules,
            'conf/crm.csv'        => $o{crm},
            'conf/customers.csv'  => $o{customers} // $customers,
        },
    );
}

# A visitor ID the module accepts: mint one with a first request.
my $probe = server(crm => "id,tier\nnobody,gold\n");
$probe->start;
my ($vid) = ($probe->request('GET /')->header('Set-Cookie') // '') =~ /tailor_id=([^;]+)/;
my ($vid2) = ($probe->request('GET /')->header('Set-Cookie') // '') =~ /tailor_id=([^;]+)/;
$probe->stop;
ok $vid && $vid2 && $vid ne $vid2, 'two visitor IDs, one to key the CRM table by';
$vid //= 'x';
$vid2 //= 'y';

my $t = server(crm => "id,tier:string,total_spend:number\n$vid,gold,10\nsomeone,silver,3\n");
$t->start;

sub body {
    my ($cookie) = @_;
    my $r = $t->request('GET /', headers => [Cookie => $cookie]);
    return "status $r->{status}" unless $r->{status} == 200;
    (my $b = $r->{body}) =~ s/\n\z//;
    return $b;
}

is body("tailor_id=$vid"), 'gold gold', 'row found by the visitor ID (default by:)';
is body("tailor_id=$vid2"), 'home ', 'a visitor not in the table: missing, the default';
is body("tailor_id=$vid2; customer=c1"), 'big big,known', 'row found by cookie("customer"), number column';
is body("tailor_id=$vid2; customer=c2"), 'opted opted,known', 'bool column, quoted cell with a comma';
is body("tailor_id=$vid2; customer=c3"), 'home known', 'UTF-8 cell, no segment but known';
is body("tailor_id=$vid2; customer=007"), 'home known', 'string key matched exactly';
is body("tailor_id=$vid2; customer=7"), 'home ', '"7" is not the string key "007"';
is body("tailor_id=$vid2; customer=c9"), 'home ', 'unknown key: the default';
is body("tailor_id=$vid; customer=c1"), 'gold gold,big,known', 'two tables in one request';

# --- hot reload under load ---------------------------------------------------------------
# A child process sends requests back to back and counts failures until told to stop.
my $stats = $t->prefix . '/load.stats';
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    my ($n, $failed) = (0, 0);
    my $stop = 0;
    local $SIG{TERM} = sub { $stop = 1 };
    while (!$stop) {
        my $r = eval { $t->request('GET /', headers => [Cookie => "tailor_id=$vid2; customer=c3"]) };
        $n++;
        $failed++ unless $r && $r->{status} == 200;
    }
    open my $fh, '>', $stats or POSIX::_exit(1);
    print $fh "$n $failed\n";
    close $fh;
    POSIX::_exit(0);
}

my $file = $t->prefix . '/conf/customers.csv';
sub replace {
    my ($text) = @_;
    open my $fh, '>', "$file.new" or die $!;
    print $fh $text;
    close $fh;
    rename "$file.new", $file or die $!;    # atomically, as deployment tools do
}

sleep 1.1;    # a different mtime second
(my $changed = $customers) =~ s/^c3,Zoë,5,no$/c3,Zoë,5000,no/m;
replace($changed);
my $deadline = time + 6;
my $seen = 0;
while (time < $deadline) {
    $seen++ if body("tailor_id=$vid2; customer=c3") eq 'big big,known';
    last if $seen >= 10;
    sleep 0.05;
}
ok $seen >= 10, 'the changed table serves within the interval';

# A corrupt replacement (a bad number, a short row): the old table stays, the log says why.
sleep 1.1;
replace("id,name:string,total_spend:number,opted_in:bool\nc1,Ana,lots,no\nc3,Zoë\n");
sleep 2.5;
is body("tailor_id=$vid2; customer=c3"), 'big big,known', 'a corrupt replacement keeps the old data';
is body("tailor_id=$vid2; customer=c1"), 'big big,known', 'other rows too';

kill 'TERM', $pid;
waitpid $pid, 0;
my ($n, $failed) = split ' ', do { local (@ARGV, $/) = ($stats); <> // '0 -1' };
cmp_ok $n, '>', 50, "the load ran ($n requests)";
is $failed, 0, 'zero failed requests while the table was replaced twice';

$t->stop;
my $log = $t->error_log;
like $log, qr/\[error\].*table "cust".*rejected: \S*customers\.csv:[23]: error: .*keeping the loaded version/,
    'the rejected reload is logged with FILE:LINE';
unlike $log, qr/malformed visitor cookie/, 'the IDs used were well-formed';
unlike $log, qr/exited on signal/, 'no worker crashed';

# --- config time: a bad row fails nginx -t with FILE:LINE ------------------------------------
my $bad = server(crm => "id,tier\n$vid,gold\n",
                 customers => "id,total_spend:number\nc1,10\nc2,y\nc3,x\n");
my ($ok, $out) = $bad->test_config;
ok !$ok, 'nginx -t fails on a bad table';
like $out, qr{customers\.csv:3: error: column 'total_spend' is a number; 'y' is not a number},
    'a bad cell at FILE:LINE';
like $out, qr{customers\.csv:4: error: column 'total_spend' is a number; 'x' is not a number},
    'all errors of the file';
my $short = server(crm => "id,tier\n$vid,gold\n", customers => "id,total_spend:number\nc1,10\nc2,1,2\n");
($ok, $out) = $short->test_config;
ok !$ok, 'nginx -t fails on a row with too many fields';
like $out, qr{customers\.csv:3: error: this row has 3 fields, the header has 2}, 'a long row at FILE:LINE';
my $dup = server(crm => "id,tier\n$vid,gold\n", customers => "id,total_spend:number\nc1,10\nc1,20\n");
($ok, $out) = $dup->test_config;
ok !$ok, 'nginx -t fails on a duplicate key';
like $out, qr{customers\.csv:3: error: duplicate key 'c1' \(first on line 2\)}, 'duplicate key at FILE:LINE';

my $missing = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
    user_files  => { 'conf/site.rules' => qq{table t = csv("nope.csv", key: id)\nsegment s = t.x == "1"\n} },
);
($ok, $out) = $missing->test_config;
ok !$ok, 'nginx -t fails on a missing table file';
like $out, qr{nope\.csv}, 'naming the file';

done_testing;
