# Reload under load: 30 s of wrk (one connection per request: plain nginx itself drops
# keep-alive requests when old workers close idle connections) while nginx reloads every 2 s
# with good, changed and broken rules. Zero failed or non-2xx responses, no worker crash, and
# the variants served follow the last good rules.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use Time::HiRes qw(sleep time);

require_tailor_module();
my ($wrk) = grep { -x } map { "$_/wrk" } split /:/, $ENV{PATH};
plan skip_all => 'wrk not installed (scripts/setup.sh installs it)' unless $wrk;

my %rules = (
    one    => "page \"/\" { default \"one\" }\n",
    two    => "segment b = cookie(\"x\") == \"1\"\npage \"/\" { variant \"two-b\" when b  default \"two\" }\n",
    broken => "page \"/\" { default \"three\" \n",      # unmatched brace
);

my $t = Tailor::Test::Server->new(
    workers     => 2,
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
    user_files  => { 'conf/site.rules' => $rules{one} },
);
$t->start;

my $port = $t->port;
my $out = $t->prefix . '/logs/wrk.out';
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', $out or die $!;
    open STDERR, '>&', \*STDOUT or die $!;
    exec $wrk, '-t1', '-c4', '-d30s', '--timeout', '5s', '-H', 'Connection: close',
         "http://127.0.0.1:$port/";
    exit 127;
}

my @cycle = qw(two broken one broken two one);
my ($good, $rejected, $follow_errors) = (0, 0, 0);
my $last_good = 'one';
my $start = time;
my $i = 0;
while (time - $start < 27) {
    sleep 2;
    my $which = $cycle[$i++ % @cycle];
    my $ok = $t->reload(user_files => { 'conf/site.rules' => $rules{$which} });
    if ($which eq 'broken') {
        $rejected++ unless $ok;
    } else {
        $good++ if $ok;
        $last_good = $which if $ok;
    }
    my $body = $t->request('GET /')->{body};
    $follow_errors++ unless $body eq "$last_good\n";
}
waitpid $pid, 0;
my $report = do { local (@ARGV, $/) = ($out); <> } // '';
diag $report;

# About 12 reloads in 27 s; fewer when each takes longer (make test-sanitize: ASan workers
# start slowly). What matters is that both kinds happened several times under load.
ok $good >= 3, "good reloads applied ($good)";
ok $rejected >= 2, "broken reloads rejected ($rejected)";
is $follow_errors, 0, 'after each reload the variant follows the last good rules';
my ($requests) = $report =~ /(\d+) requests in/;
ok(($requests // 0) > 1000, 'wrk sent a real load (' . ($requests // 0) . ' requests)');
unlike $report, qr/Socket errors/, 'no socket errors (connect, read, write, timeout)';
unlike $report, qr/Non-2xx/, 'no non-2xx responses';
like $t->error_log, qr/unmatched|expected|brace/i, 'the broken rules were reported';
unlike $t->error_log, qr/exited on signal/, 'no worker exited on a signal';
$t->stop;
done_testing;
