# Data tables through real nginx: CSV rows found by the visitor ID or by a cookie, typed
# columns, a bad row failing `nginx -t` with FILE:LINE, and hot reload while serving load:
# new data within the interval, zero failed requests, a corrupt replacement keeps the old
# table and the error log says why. A reload binds columns by name (reordered and inserted
# columns serve the right values; a removed one is rejected), and a compiled table truncated
# in place while requests run keeps serving from its checked copy.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();
use File::Temp ();

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

# --- a reload binds columns by name --------------------------------------------------------
# The rules were compiled against crm(id, tier, total_spend) and customers(id, name,
# total_spend, opted_in); the new files move every column and insert one. Each value served
# must still come from its named column.
my $b = server(crm => "id,tier:string,total_spend:number\n$vid,gold,10\n$vid2,silver,3\n");
$b->start;
sub body_of {
    my ($srv, $cookie) = @_;
    my $r = $srv->request('GET /', headers => [Cookie => $cookie]);
    return "status $r->{status}" unless $r->{status} == 200;
    (my $text = $r->{body}) =~ s/\n\z//;
    return $text;
}
is body_of($b, "tailor_id=$vid2; customer=c3"), 'home known', 'before: c3 is small, vid2 silver';
sleep 1.1;    # a different mtime second
for (['crm.csv', "total_spend:number,region,id,tier:string\n10,eu,$vid,silver\n3,us,$vid2,gold\n"],
     ['customers.csv', "opted_in:bool,total_spend:number,name:string,id\n"
                     . "no,1500,Ana,c1\nyes,20,\"Bé, Jr.\",c2\nno,5000,Zoë,c3\nno,0,Bond,007\n"]) {
    my $path = $b->prefix . "/conf/$_->[0]";
    open my $fh, '>', "$path.new" or die $!;
    print $fh $_->[1];
    close $fh;
    rename "$path.new", $path or die $!;
}
# Each worker reloads on its own timer: wait until a few rounds of every check in a row see
# the new files, whichever worker answers.
my @checks = (["tailor_id=$vid2; customer=c3", 'gold gold,big,known'],
              ["tailor_id=$vid; customer=c1", 'big big,known'],
              ["tailor_id=$vid; customer=c2", 'opted opted,known'],
              ["tailor_id=$vid; customer=007", 'home known']);
my $until = time + 8;
my @got;
my $rounds = 0;
while (time < $until && $rounds < 5) {
    @got = map { body_of($b, $_->[0]) } @checks;
    my $all = !grep { $got[$_] ne $checks[$_][1] } 0 .. $#checks;
    $rounds = $all ? $rounds + 1 : 0;
    sleep 0.05 unless $all;
}
is $got[0], 'gold gold,big,known', 'reordered columns: crm.tier and cust.total_spend are theirs';
is $got[1], 'big big,known', 'number column moved';
is $got[2], 'opted opted,known', 'bool column moved';
is $got[3], 'home known', 'key column moved';

# A file without a column the rules use: rejected, the reordered data stays.
sleep 1.1;
{
    my $path = $b->prefix . '/conf/customers.csv';
    open my $fh, '>', "$path.new" or die $!;
    print $fh "id,name:string,opted_in:bool\nc3,Zoë,yes\n";
    close $fh;
    rename "$path.new", $path or die $!;
}
sleep 2.5;
is body_of($b, "tailor_id=$vid2; customer=c3"), 'gold gold,big,known', 'a removed column keeps the old table';
$b->stop;
like $b->error_log, qr/\[error\].*table "cust".*rejected: \S*customers\.csv: column 'total_spend' was removed/,
    'the rejected reload names the missing column';
unlike $b->error_log, qr/exited on signal/, 'no worker crashed';

# --- a compiled table truncated in place while requests run ----------------------------------
SKIP: {
    my $tailorc = defined $ENV{TAILOR_BUILD} ? "$ENV{TAILOR_BUILD}/tailorc" : '';
    skip 'no tailorc (TAILOR_BUILD)', 5 unless $tailorc && -x $tailorc;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $rows = 20000;    # a file of many pages; lookups touch all of them
    open my $fh, '>', "$dir/stores.csv" or die $!;
    print $fh "id,name\n";
    print $fh "k$_,store-$_\n" for 0 .. $rows - 1;
    close $fh;
    system("$tailorc table compile $dir/stores.csv --key id -o $dir/stores.tbl >/dev/null") == 0
        or die 'tailorc table compile failed';
    chmod 0755, $dir;    # workers (another user) reload it
    chmod 0644, "$dir/stores.tbl";
    my $c = Tailor::Test::Server->new(
        workers     => 2,
        http_config => "tailor_rules conf/site.rules;\ntailor_tables_reload 1s;\n",
        config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
        user_files  => {
            'conf/site.rules' => qq{table stores = csv("$dir/stores.tbl", key: id, by: cookie("k"))\n}
                . qq{segment named = stores.name starts_with "store-"\n}
                . qq{page "/" { variant "found" when named  default "home" }\n},
        },
    );
    $c->start;
    is body_of($c, 'k=k19999'), 'found', 'a compiled table serves';
    my $cstats = $c->prefix . '/compiled.stats';
    my $cpid = fork // die "fork: $!";
    if ($cpid == 0) {
        my ($n, $failed) = (0, 0);
        my $stop = 0;
        local $SIG{TERM} = sub { $stop = 1 };
        while (!$stop) {
            my $k = 'k' . int(rand($rows));
            my $r = eval { $c->request('GET /', headers => [Cookie => "k=$k"]) };
            $n++;
            $failed++ unless $r && $r->{status} == 200 && $r->{body} eq "found\n";
        }
        open my $out, '>', $cstats or POSIX::_exit(1);
        print $out "$n $failed\n";
        close $out;
        POSIX::_exit(0);
    }
    my $head = do { open my $in, '<:raw', "$dir/stores.tbl" or die $!; local $/ = \8192; <$in> };
    sleep 0.5;
    truncate "$dir/stores.tbl", 0 or die "truncate: $!";    # in place: the same inode
    sleep 1.5;
    open my $part, '>>:raw', "$dir/stores.tbl" or die $!;     # then its first 8 KiB, as a slow cp
    print $part $head;
    close $part;
    sleep 2.5;
    kill 'TERM', $cpid;
    waitpid $cpid, 0;
    my ($cn, $cfailed) = split ' ', do { local (@ARGV, $/) = ($cstats); <> // '0 -1' };
    cmp_ok $cn, '>', 50, "requests ran while the file was truncated ($cn)";
    is $cfailed, 0, 'every request answered from the loaded table';
    $c->stop;
    my $clog = $c->error_log;
    unlike $clog, qr/exited on signal/, 'no worker crashed (no SIGBUS)';
    like $clog, qr/table "stores".*rejected: .*compiled table: truncated/, 'the truncated file is a rejected reload';
}

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
