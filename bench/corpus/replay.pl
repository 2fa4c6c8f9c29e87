#!/usr/bin/perl
# Sends exactly N requests of the corpus (corpus.tsv from make-corpus.pl) to 127.0.0.1:PORT
# over one keep-alive connection, in corpus order, and checks each answer is a 200. Used where
# an exact request count matters (callgrind instructions per request, strace syscall counts).
#
#   replay.pl CORPUS.tsv PORT N [--cold] [--skip K]
#   --cold   make every request unique for Tailor's caches: a distinct User-Agent (a build
#            token appended) and a distinct client IP inside the same geo networks, so
#            per-worker UA and geo caches miss on every request
#   --skip K start at row K (so a measured batch does not repeat a warm-up batch)
# Exits 1 if any response is not a 200.
use strict;
use warnings;
use Getopt::Long;
use IO::Socket::INET;

my ($cold, $skip) = (0, 0);
GetOptions('cold' => \$cold, 'skip=i' => \$skip) or die "usage: $0 CORPUS.tsv PORT N [--cold] [--skip K]\n";
my ($corpus, $port, $n) = @ARGV;
die "usage: $0 CORPUS.tsv PORT N [--cold] [--skip K]\n" unless $corpus && $port && $n;

open my $fh, '<', $corpus or die "$corpus: $!\n";
my @rows = map { chomp; [ split /\t/, $_, -1 ] } <$fh>;
close $fh;
die "$corpus: empty\n" unless @rows;

sub connect_server {
    my $s;
    for (1 .. 600) {  # under valgrind nginx may take a while to listen
        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp');
        return $s if $s;
        select(undef, undef, undef, 0.1);
    }
    die "cannot connect to 127.0.0.1:$port: $!\n";
}

# Reads one HTTP/1.1 response (Content-Length framed); returns the status or undef on EOF.
sub read_response {
    my ($s, $bufref) = @_;
    while ($$bufref !~ /\r\n\r\n/) {
        my $got = sysread($s, $$bufref, 65536, length $$bufref);
        return undef unless $got;
    }
    $$bufref =~ s/^(.*?\r\n\r\n)//s;
    my $head = $1;
    my ($status) = $head =~ m{^HTTP/1\.[01] (\d{3})};
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    $len //= 0;
    while (length($$bufref) < $len) {
        my $got = sysread($s, $$bufref, 65536, length $$bufref);
        return undef unless $got;
    }
    substr($$bufref, 0, $len, '');
    return $status // 0;
}

my $s = connect_server();
my $buf = '';
my $bad = 0;
for my $i (0 .. $n - 1) {
    my ($path, $ip, $ua, $referer, $cookie, $lang) = @{ $rows[ ($skip + $i) % @rows ] };
    if ($cold) {
        $ua .= " Build/" . ($skip + $i);
        # Same network (same geo answer), different address: the low 7 bits of the last octet
        # cycle (the demo database's smallest networks are /25).
        my @o = split /\./, $ip;
        $o[3] = ($o[3] & 128) | (($o[3] + $i) & 127) if @o == 4;
        $ip = join '.', @o;
    }
    my $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nX-Forwarded-For: $ip\r\n"
            . "User-Agent: $ua\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Language: $lang\r\n"
            . ($referer ne '' ? "Referer: $referer\r\n" : '')
            . ($cookie ne '' ? "Cookie: $cookie\r\n" : '') . "\r\n";
    my $off = 0;
    while ($off < length $req) {
        my $w = syswrite($s, $req, length($req) - $off, $off);
        die "write: $!\n" unless defined $w;
        $off += $w;
    }
    my $status = read_response($s, \$buf);
    die "connection closed after $i responses\n" unless defined $status;
    $bad++ if $status != 200;
}
close $s;
print "$n requests, ", $n - $bad, " x 200\n";
exit($bad ? 1 : 0);
