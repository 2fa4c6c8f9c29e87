# A geo database rewritten in place while nginx serves (`cp new.mmdb live.mmdb`: the same
# inode truncated, then written): workers read a private copy made at load, so the
# truncation and the half-written file never reach a lookup. Every request is answered from
# the old data until the complete new file is loaded; no worker dies (a mapping of the file
# itself faults with SIGBUS at the first lookup after the truncation).
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use Cwd qw(abs_path);
use Time::HiRes qw(sleep time);

require_tailor_module();

my $shared = abs_path('../shared/data/maxmind-test');
plan skip_all => 'no MaxMind test databases at ../shared' unless $shared && -d $shared;

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# Both location databases: 81.2.69.142 is GB, with a city in the City one only.
my %db = (
    city    => slurp("$shared/GeoIP2-City-Test.mmdb"),
    country => slurp("$shared/GeoIP2-Country-Test.mmdb"),
);
my %expect = (city => qr/^country=GB city=London$/, country => qr/^country=GB city=$/);

my $t = Tailor::Test::Server->new(
    http_config => "tailor_rules conf/site.rules;\n"
                 . "tailor_geoip2 conf/geo.mmdb auto_reload=1s;\n"
                 . "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n",
    config      => 'location / { tailor on; return 200 "country=$tailor_geo_country city=$tailor_geo_city\n"; }',
    user_files  => { 'conf/site.rules' => qq{page "/" { default "home" }\n}, 'conf/geo.mmdb' => $db{city} },
    workers     => 2,
);
$t->start;
my $live = $t->prefix . '/conf/geo.mmdb';
my $inode = (stat $live)[1];

# The mappings of a process: how many map the live file, and the inodes of the copies.
sub mappings {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/maps" or return (undef, []);
    my ($file, %copies) = (0);
    while (<$fh>) {
        $file++ if m{\Q$live\E};
        $copies{(split)[4]} = 1 if m{/memfd:tailor-geo};
    }
    return ($file, [sort keys %copies]);
}
{
    my ($mfile, $mcopies) = mappings($t->master_pid);
    is $mfile, 0, 'the master does not map the database file';
    is scalar(@$mcopies), 1, 'the master maps one copy';
    for my $pid ($t->worker_pids) {
        my ($file, $copies) = mappings($pid);
        is $file, 0, "worker $pid does not map the database file";
        is_deeply $copies, $mcopies, "worker $pid shares the master's copy";
    }
}

my ($sent, $failed, @unexpected) = (0, 0);
# Sends `n` requests (spread over both workers by the kernel); each must be answered with
# one of the databases' answers for the address.
sub burst {
    my ($n, $what) = @_;
    my @seen;
    for (1 .. $n) {
        my $r = $t->request('GET /', headers => ['X-Forwarded-For' => '81.2.69.142']);
        $sent++;
        if ($r->{status} != 200) {
            $failed++;
            push @unexpected, "$what: status $r->{status} " . ($r->{error} // '');
            next;
        }
        (my $body = $r->{body}) =~ s/\n\z//;
        my ($name) = grep { $body =~ $expect{$_} } sort keys %expect;
        push @unexpected, "$what: '$body'" unless $name;
        push @seen, $name // '?';
    }
    return @seen;
}

# Writes `bytes` at `offset` of the live file, in place (no new inode).
sub write_in_place {
    my ($bytes, $offset, $truncate) = @_;
    open my $fh, '+<:raw', $live or die "$live: $!";
    truncate $fh, 0 or die "truncate: $!" if $truncate;
    seek $fh, $offset, 0 or die "seek: $!";
    print {$fh} $bytes or die "write: $!";
    close $fh or die "close: $!";
}

is_deeply [burst(4, 'start')], [('city') x 4], 'the City database answers at start';

my $old = 'city';
for my $new ('country', 'city', 'country') {
    # Truncated in place: the workers keep answering from their copy of the old file
    # (and the reloader refuses the empty file).
    write_in_place('', 0, 1);
    my @seen = burst(6, "truncated ($old -> $new)");
    sleep 1.2;  # a reload poll sees the empty file
    push @seen, burst(6, "truncated, after a poll ($old -> $new)");
    is_deeply \@seen, [($old) x 12], "truncated in place: every request answered from the old $old data";

    # Half written: refused as corrupt, the old data stays.
    my $half = int(length($db{$new}) / 2);
    write_in_place(substr($db{$new}, 0, $half), 0, 0);
    sleep 1.2;
    @seen = burst(6, "half written ($old -> $new)");
    is_deeply \@seen, [($old) x 6], "half written in place: still the old $old data";

    # Complete: loaded at the next poll.
    write_in_place(substr($db{$new}, $half), $half, 0);
    my $deadline = time + 5;
    my $switched = 0;
    while (time < $deadline) {
        my @s = burst(2, "completed ($old -> $new)");
        $switched = grep { $_ eq $new } @s;
        last if $switched == 2;
        sleep 0.1;
    }
    is $switched, 2, "the complete $new file, written in place, is loaded";
    $old = $new;
}

for my $pid ($t->worker_pids) {
    my ($file) = mappings($pid);
    is $file, 0, "after the swaps, worker $pid still does not map the database file";
}
is((stat $live)[1], $inode, 'the file was rewritten in place (same inode throughout)');
is $failed, 0, "every one of the $sent requests was answered";
is_deeply \@unexpected, [], 'every answer came from one of the two databases';
$t->stop;
my $log = $t->error_log;
unlike $log, qr/exited on signal/, 'no worker crashed';
like $log, qr/geo\.mmdb: the file is empty/, 'the truncated file was refused by the reloader';
done_testing;
