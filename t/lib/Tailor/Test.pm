package Tailor::Test;

=head1 NAME

Tailor::Test - data-driven tests of nginx (and the Tailor module) in a real nginx

=head1 SYNOPSIS

    # t/010-variant.t
    use Tailor::Test;
    run_tests();          # the plan is computed from the blocks
    __DATA__

    === TEST 1: email campaign gets its variant
    --- http_config
    tailor_rules $TEST_NGINX_PREFIX/conf/site.rules;
    --- config
    location / { tailor on; return 200 "v=$tailor_variant\n"; }
    --- user_files
    >>> conf/site.rules
    segment from_email = query("utm_medium") == "email"
    page "/" { variant "home-email" when from_email  default "home" }
    --- request
    GET /?utm_medium=email
    --- response_body
    v=home-email
    --- no_error_log
    [error]

Run with C<prove -r -I t/lib t/> from the repository root. Environment:

=over

=item C<TAILOR_MODULE> - absolute path of F<ngx_http_tailor_module.so>. When set, the
generated F<nginx.conf> starts with C<load_module TAILOR_MODULE;>. When unset no module is
loaded (the harness self-test then runs on plain nginx). Use C<require_tailor_module()> at the
top of a test file that needs the module: it skips the whole file when the variable is unset.

=item C<TAILOR_BUILD> - the build directory (substituted as C<$TAILOR_BUILD>).

=item C<TAILOR_NGINX> - the nginx binary (default F</usr/sbin/nginx>).

=item C<TAILOR_NGINX_PRELOAD> - C<LD_PRELOAD> for nginx only (C<make test-sanitize> puts the
ASan/UBSan runtimes there, so a sanitized module loads into Debian's nginx).

=item C<TAILOR_TEST_REPEAT=N> - repeat mode: every block's requests are sent N times (default
1) to the same nginx and its same worker, each round checked in full, like Test::Nginx's
C<repeat_each>, to catch state a worker keeps between requests (recycled buffers, memo
tables). A block with C<--- no_repeat> runs once.

=item C<TAILOR_TEST_KEEP=1> - keep the temporary prefix directories (their path is printed
with C<diag>) to look at the generated F<nginx.conf> and logs after a run.

=back

=head1 HOW A TEST FILE RUNS

Each test file gets its own temporary directory (removed at exit) and a free loopback TCP port
(found by binding port 0 on 127.0.0.1). Every block gets a fresh prefix directory in it (the
same path for every block of the file; its content is wiped between blocks) with F<conf/>,
F<logs/>, F<html/> and the block's C<user_files>. nginx is started as

    TAILOR_NGINX -p PREFIX/ -c conf/nginx.conf -e PREFIX/logs/error.log

in the background (C<daemon off>, C<master_process on>, in its own process group), and the
harness waits until the pid file names the master and the worker processes are running. After
the block's requests nginx is stopped (QUIT, then TERM, then KILL of the process group), and
only then are the logs checked, so everything nginx logged is in them. An C<END> block stops
every nginx still running, even when a test dies. If the port was taken in the meantime
(C<Address already in use>), another port is picked and nginx started again.

The generated F<conf/nginx.conf>:

    load_module TAILOR_MODULE;          # only when TAILOR_MODULE is set
    daemon off;
    master_process on;
    worker_processes 1;                 # --- workers
    pid PREFIX/logs/nginx.pid;
    error_log PREFIX/logs/error.log info;   # --- log_level
    <main_config>
    events { worker_connections 256; }
    http {
        access_log PREFIX/logs/access.log;
        default_type text/plain;
        client_body_temp_path PREFIX/tmp/client_body;   # likewise proxy, fastcgi, uwsgi, scgi
        <http_config>
        server {
            listen 127.0.0.1:PORT;
            server_name localhost;
            <config>
        }
    }

=head1 SUBSTITUTIONS

In every section (after Test::Base filters such as C<eval> ran, so also inside the strings an
C<eval> section returns) these words are replaced; the forms C<$NAME> and C<${NAME}> both work:

    $TEST_NGINX_PORT     the port nginx listens on (127.0.0.1)
    $TEST_NGINX_PREFIX   the prefix directory (absolute, no trailing slash)
    $TAILOR_BUILD        the TAILOR_BUILD environment variable (dies if used but unset)

The same values are in C<%ENV> under those names, for C<eval> code.

=head1 BLOCK SECTIONS

Sections are Test::Base sections, so Test::Base filters apply (C<eval>, C<chomp>, ...), and the
default filters C<norm trim> remove leading and trailing blank lines (a body written on one
line is C<"text\n">). Test::Base's C<ONLY>, C<SKIP> and C<LAST> sections work too.

=over

=item C<--- main_config>

Top-level directives, e.g. C<env TZ;> or C<thread_pool ...>.

=item C<--- http_config>

Directives inside C<http {}>, before the generated server, e.g. C<tailor_rules conf/site.rules;>
or a second C<server {}>.

=item C<--- config>

Directives inside the generated C<server {}>, e.g. C<location / { return 200 "hi\n"; }>.

=item C<--- user_files>

Files written under the prefix before nginx starts, Test::Nginx style:

    --- user_files
    >>> html/index.html
    <h1>home</h1>
    >>> conf/site.rules
    segment beta = cookie("beta") == "1"

Each file gets the lines up to the next C<< >>> >> line (the last newline of the section is
kept, as Test::Base keeps it). Directories are created as needed; paths must be relative and
must not contain C<..>.

=item C<--- request>

C<METHOD URI [PROTOCOL]> on the first line (protocol default C<HTTP/1.1>); any further lines
are the request body (sent with a C<Content-Length>). The harness adds C<Host: localhost> and
C<Connection: close> unless C<more_headers> sets those headers.

    --- request
    POST /form
    a=1&b=2

With C<--- request eval> the section may return an array reference of requests; the block then
sends them one after the other on separate connections to the same nginx, and each response
check below may also be an array reference with one entry per request (an C<undef> entry skips
that check for that request). A check that is not an array reference applies to every request.

    --- request eval
    ["GET /a", "GET /b"]
    --- response_body eval
    ["a\n", "b\n"]

=item C<--- raw_request>

Bytes sent exactly as given instead of a generated request (for malformed or huge requests);
use C<eval> to write C<\r\n>. May also be an array reference (like C<request eval>).

    --- raw_request eval
    "GET / HTTP/1.1\r\nHost: localhost\r\nCookie: tailor_id=" . ("A" x 9000) . "\r\nConnection: close\r\n\r\n"

=item C<--- more_headers>

One C<Name: value> per line, added to the request in order (repeats allowed). With C<eval>
it may be an array reference with one such text per request (like the checks below).

    --- more_headers
    Cookie: beta=1
    X-Beta: yes

=item C<--- error_code>

The expected response status. Default C<200>: every request is checked.

=item C<--- response_body>

The exact body (after chunked decoding). Use C<--- response_body chomp> when the body has no
final newline.

=item C<--- response_body_like>

A regular expression the body must match (C<s> flag; write C<^...$> to anchor), e.g.
C<^home-(a|b)$>. With C<eval> a C<qr//> is used as it is.

=item C<--- response_headers>

One line per check. C<Name: value>: the header must be present and, if it appears several times,
the lines for that name must list all its values in order (exact, case-sensitive values, names
case-insensitive). C<!Name>: the header must be absent.

    --- response_headers
    X-Tailor-Variant: home-email
    !Set-Cookie

=item C<--- response_headers_like>

C<Name: regex> per line; at least one value of that header must match.

    --- response_headers_like
    Set-Cookie: ^tailor_id=[A-Za-z0-9_-]{22}; HttpOnly; SameSite=Lax; Path=/$

=item C<--- error_log>

Lines that must appear in F<logs/error.log> (each a plain substring). With C<eval> the section
may return a C<qr//> or an array reference of strings and C<qr//>s. In a C<must_die> block the
text searched is the output of the failed C<nginx -t> plus the startup stderr plus the error
log.

    --- error_log
    site.rules:3:14: unknown signal "cokie"

=item C<--- no_error_log>

Lines that must not appear (same forms as C<error_log>), typically

    --- no_error_log
    [error]
    [alert]
    [emerg]

=item C<--- must_die>

nginx must refuse the configuration: C<nginx -t> must fail and starting nginx must fail. No
request is sent. Combine with C<--- error_log> to check the message.

    --- http_config
    tailor_rules conf/bad.rules;
    --- must_die
    --- error_log
    bad.rules:1:9:

=item C<--- workers>

The number of worker processes (default 1).

=item C<--- http2>

The server listens with HTTP/2 (cleartext, prior knowledge: C<listen ... http2> before nginx
1.25.1, C<http2 on> from it) and each C<request> goes through C<curl --http2-prior-knowledge>
with the same headers (less C<Connection>, which HTTP/2 forbids). C<raw_request> is not
available. The response's C<protocol> is C<HTTP/2>.

=item C<--- no_repeat>

The block runs once even in repeat mode (C<TAILOR_TEST_REPEAT>): for blocks whose answers
depend on how many requests came before (counters).

=item C<--- log_level>

The error log level (default C<info>; C<debug> works with Debian's nginx, built C<--with-debug>).

=item C<--- timeout>

Seconds to wait for nginx to start or stop and for each response (default 10).

=back

=head1 TESTS PER BLOCK

C<run_tests()> plans the exact number of tests (unless the file already called C<plan>). A
normal block runs: "nginx starts" (1), then per request: the status (1), each
C<response_headers> line (1 each), each C<response_headers_like> line (1 each),
C<response_body> (1), C<response_body_like> (1); then each C<error_log> line (1 each), each
C<no_error_log> line (1 each) and "no worker exited on a signal" (1; it looks for
C<exited on signal> in the error log, so a crashing worker always fails the block). A
C<must_die> block runs "nginx -t fails" (1), "nginx does not start" (1) and its
C<error_log>/C<no_error_log> lines. When nginx does not start, every check of the block fails.

=head1 PROGRAMMATIC API

For tests that need logic between requests use C<Tailor::Test::Server> in an ordinary
Test::More test (C<use Tailor::Test;> exports Test::More's functions too; C<done_testing>
comes from C<use Test::More>):

    use Tailor::Test;
    use Test::More;
    my $t = Tailor::Test::Server->new(
        http_config => 'tailor_rules conf/site.rules;',
        config      => 'location / { tailor on; return 200 "$tailor_visitor\n"; }',
        user_files  => { 'conf/site.rules' => "page \"/\" { default \"home\" }\n" },
        workers     => 2,
    );
    $t->start;                                  # dies with the error log when nginx fails
    my $r1 = $t->request('GET /');
    my ($cookie) = $r1->header_values('Set-Cookie');
    my $r2 = $t->request('GET /', headers => [Cookie => $cookie =~ s/;.*//r]);
    is $r2->{body}, $r1->{body};
    ok $t->reload(config => 'location / { return 204; }'), 'reload';
    is $t->request('GET /')->{status}, 204;
    unlike $t->error_log, qr/\[alert\]/;
    $t->stop;
    done_testing;

=over

=item C<< Tailor::Test::Server->new(%args) >>

C<config>, C<http_config>, C<main_config> (strings), C<user_files> (hash reference
C<< path => content >>, or a string in the C<< >>> path >> format), C<workers> (default 1),
C<http2> (true: listen with HTTP/2 and send requests through curl, as C<--- http2>),
C<log_level> (default C<info>), C<timeout> (seconds, default 10), C<prefix> (default: a new
directory under the test file's temporary directory), C<port> (default: a free port).
C<$TEST_NGINX_PORT>, C<$TEST_NGINX_PREFIX> and C<$TAILOR_BUILD> are substituted in all of them.

=item C<< $t->start >>

Writes the prefix and starts nginx; returns C<$t>. Dies (with the startup output and error log)
if nginx exits or is not ready within the timeout. C<< $t->try_start >> returns true/false
instead and leaves the reason in C<< $t->{start_error} >>.

=item C<< $t->request($request_line, headers => [...] | {...}, body => $bytes, timeout => $s) >>

Sends C<"METHOD URI [PROTO]"> (default C<HTTP/1.1>, C<Host: localhost>, C<Connection: close>
and a desktop Firefox C<User-Agent> unless given in C<headers>; a header given as C<undef> is
not sent, e.g. C<< 'User-Agent' => undef >>) and returns a L</RESPONSE>.

=item C<< $t->raw_request($bytes, timeout => $s) >>

Sends exact bytes and returns a L</RESPONSE>.

=item C<< $t->reload(%args) >>

Rewrites the configuration with C<%args> merged over the current ones (C<config>,
C<http_config>, C<main_config>, C<user_files>, C<workers>), sends C<SIGHUP> to the master (what
C<nginx -s reload> does) and waits until all old workers are gone and the new workers run.
Returns true on success; false when nginx rejected the new configuration (it then keeps
serving with the old one; the reason is in C<< $t->{reload_error} >>).

=item C<< $t->test_config >>

Runs C<nginx -t> on the current files; returns C<($ok, $output)>.

=item C<< $t->error_log >>, C<< $t->access_log >>

The log file contents so far.

=item C<< $t->stop >>

Stops nginx (QUIT, then TERM, then KILL); idempotent; also done by C<DESTROY> and at exit.

=item C<< $t->port >>, C<< $t->prefix >>, C<< $t->master_pid >>, C<< $t->worker_pids >>

=back

=head2 RESPONSE

A hash reference (blessed into C<Tailor::Test::Response>):

    status       200
    reason       'OK'
    protocol     'HTTP/1.1'
    headers      { 'content-type' => 'text/plain', 'set-cookie' => ['a=1', 'b=2'] }
                 lower-case names; a string, or an array reference when the header repeats
    header_list  [ ['Content-Type', 'text/plain'], ... ]   as received, in order
    body         the body (Content-Length, chunked (decoded) or read until close)
    raw          every byte received
    error        undef, or why no complete response came (connect failure, timeout,
                 truncated body); status is then 0 when no status line was received

Methods: C<< $res->header($name) >> (the first value, or undef),
C<< $res->header_values($name) >> (all values, in order).

The client is a plain C<IO::Socket::IP> socket: the request is written as given (a write error,
e.g. nginx closing early on a huge header, stops writing and the response is still read), and
the response is read until the framing says it is complete or the server closes.

=cut

use Test::Base -base;
use strict;
use warnings;

use Cwd ();
use File::Path ();
use File::Temp ();
use File::Spec ();
use IO::Socket::IP ();
use IO::Select ();
use POSIX ();
use Time::HiRes ();
use Test::More ();

our @EXPORT = qw(run_tests require_tailor_module);

our $NGINX = $ENV{TAILOR_NGINX} || '/usr/sbin/nginx';
our $DEFAULT_TIMEOUT = 10;
our $REPEAT = $ENV{TAILOR_TEST_REPEAT} || 1;
die "Tailor::Test: TAILOR_TEST_REPEAT must be a positive integer\n"
    unless $REPEAT =~ /^[1-9][0-9]*$/;

# nginx's version as a number (1.25.1 => 1025001), read once from `nginx -v`.
my $NGINX_VERSION;
sub nginx_version {
    return $NGINX_VERSION if defined $NGINX_VERSION;
    my $out = `$NGINX -v 2>&1`;
    $NGINX_VERSION = $out =~ m{nginx/(\d+)\.(\d+)\.(\d+)} ? $1 * 1000000 + $2 * 1000 + $3 : 0;
    return $NGINX_VERSION;
}

sub _repeat_of {
    my ($block) = @_;
    return exists $block->{no_repeat} ? 1 : $REPEAT;
}

# --- per test file state -----------------------------------------------------------------

my $OWNER_PID = $$;
my $TEMP_ROOT;          # one temporary directory per test file
my $SERVER_SEQ = 0;
my %LIVE;               # master pid => Tailor::Test::Server, for END cleanup

sub temp_root {
    return $TEMP_ROOT if $TEMP_ROOT;
    $TEMP_ROOT = File::Temp::tempdir('tailor-t-XXXXXX', TMPDIR => 1,
                                     CLEANUP => !$ENV{TAILOR_TEST_KEEP});
    # Workers run as nobody when the master is root: they must be able to read the prefix.
    chmod 0755, $TEMP_ROOT;
    Test::More::diag("Tailor::Test: keeping $TEMP_ROOT") if $ENV{TAILOR_TEST_KEEP};
    return $TEMP_ROOT;
}

sub free_port {
    my $sock = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
                                   Listen => 1, ReuseAddr => 1)
        or die "Tailor::Test: cannot bind a loopback port: $@";
    my $port = $sock->sockport;
    close $sock;
    return $port;
}

# The block runner's port and prefix, fixed per test file (and exported to %ENV for eval
# sections, which Test::Base runs when blocks() is first called).
my $FILE_PORT   = free_port();
my $FILE_PREFIX = File::Spec->catdir(temp_root(), 'prefix');
$ENV{TEST_NGINX_PORT}   = $FILE_PORT;
$ENV{TEST_NGINX_PREFIX} = $FILE_PREFIX;

sub require_tailor_module {
    unless ($ENV{TAILOR_MODULE}) {
        Test::More::plan(skip_all => 'TAILOR_MODULE is not set (run via make test)');
    }
    unless (-f $ENV{TAILOR_MODULE}) {
        Test::More::BAIL_OUT("TAILOR_MODULE=$ENV{TAILOR_MODULE} does not exist");
    }
}

sub expand_vars {
    my ($value, $port, $prefix) = @_;
    return $value unless defined $value;
    if (ref $value eq 'ARRAY') {
        return [map { expand_vars($_, $port, $prefix) } @$value];
    }
    if (ref $value eq 'HASH') {
        return { map { expand_vars($_, $port, $prefix) => expand_vars($value->{$_}, $port, $prefix) }
                 keys %$value };
    }
    return $value if ref $value;    # qr// and the like
    my %vars = (TEST_NGINX_PORT => $port, TEST_NGINX_PREFIX => $prefix,
                TAILOR_BUILD => $ENV{TAILOR_BUILD});
    $value =~ s{\$(?:\{(TEST_NGINX_PORT|TEST_NGINX_PREFIX|TAILOR_BUILD)\}|(TEST_NGINX_PORT|TEST_NGINX_PREFIX|TAILOR_BUILD)\b)}{
        my $name = $1 // $2;
        defined $vars{$name} ? $vars{$name}
                             : die "Tailor::Test: \$$name is used but not set\n";
    }ge;
    return $value;
}

sub parse_user_files {
    my ($text) = @_;
    return {} unless defined $text;
    return $text if ref $text eq 'HASH';
    my (%files, $current);
    for my $line (split /^/, $text) {
        if ($line =~ /^>>>\s*(\S+)\s*$/) {
            $current = $1;
            $files{$current} = '';
        } elsif (defined $current) {
            $files{$current} .= $line;
        } elsif ($line =~ /\S/) {
            die "Tailor::Test: user_files must start with a '>>> path' line, got: $line";
        }
    }
    return \%files;
}

# Lines of an error_log/no_error_log/response_headers section: a string (one item per
# non-empty line), a qr//, or an array reference of those.
sub section_items {
    my ($value) = @_;
    return () unless defined $value;
    return map { section_items($_) } @$value if ref $value eq 'ARRAY';
    return ($value) if ref $value;
    return grep { /\S/ } map { s/\s+\z//r } split /\n/, $value;
}

sub log_matches {
    my ($text, $item) = @_;
    return ref $item eq 'Regexp' ? $text =~ $item : index($text, $item) >= 0;
}

# An interrupted run (Ctrl-C, a killed prove) must also stop nginx: turn the signals into an
# exit so the END block runs.
for my $sig (qw(INT TERM HUP)) {
    my $current = $SIG{$sig};
    next if defined $current && $current ne '' && $current ne 'DEFAULT';
    my $code = 128 + ($sig eq "INT" ? 2 : $sig eq "HUP" ? 1 : 15);
    $SIG{$sig} = sub { exit $code };
}

END {
    if ($$ == $OWNER_PID) {
        for my $server (values %LIVE) {
            eval { $server->stop(fast => 1) };
        }
    }
}

# --- the block runner --------------------------------------------------------------------

sub _block_requests {
    my ($block) = @_;
    if (defined $block->{raw_request}) {
        my $raw = $block->raw_request;
        return map { { raw => $_ } } (ref $raw eq 'ARRAY' ? @$raw : ($raw));
    }
    my $req = $block->request;
    return () unless defined $req;
    return map { { line => $_ } } (ref $req eq 'ARRAY' ? @$req : ($req));
}

# The checks for request number $i: a scalar section applies to every request, an array
# reference gives one entry per request (undef = no check).
sub _per_request {
    my ($block, $name, $i, $count) = @_;
    return undef unless exists $block->{$name};
    my $value = $block->$name;
    return $value unless ref $value eq 'ARRAY';
    return $value->[$i];
}

sub _plan_block {
    my ($block) = @_;
    my @log = (section_items(scalar $block->error_log), section_items(scalar $block->no_error_log));
    return 2 + @log if exists $block->{must_die};
    my @requests = _block_requests($block);
    my $n = 2 + @log;   # starts, no crash
    for my $i ((0 .. $#requests) x _repeat_of($block)) {
        $n += 1;    # status
        $n += () = section_items(_per_request($block, 'response_headers', $i));
        $n += () = section_items(_per_request($block, 'response_headers_like', $i));
        $n += 1 if defined _per_request($block, 'response_body', $i);
        $n += 1 if defined _per_request($block, 'response_body_like', $i);
    }
    return $n;
}

sub run_tests {
    my @blocks = Test::Base::blocks();
    my $builder = Test::More->builder;
    unless ($builder->has_plan) {
        my $total = 0;
        $total += _plan_block($_) for @blocks;
        Test::More::plan(tests => $total);
    }
    run_block($_) for @blocks;
}

sub _chomped {
    my ($block, $name) = @_;
    my $v = exists $block->{$name} ? $block->$name : undef;
    return undef unless defined $v;
    $v =~ s/\s+\z//;
    return $v;
}

sub run_block {
    my ($block) = @_;
    my $name = $block->name || 'block';
    $name =~ s/\s+\z//;
    my $timeout = _chomped($block, 'timeout') // $DEFAULT_TIMEOUT;
    my $port = $FILE_PORT;

    my $server;
    my $attempt = 0;
    while (1) {
        $server = Tailor::Test::Server->new(
            prefix      => $FILE_PREFIX,
            port        => $port,
            main_config => scalar $block->main_config,
            http_config => scalar $block->http_config,
            config      => scalar $block->config,
            user_files  => scalar $block->user_files,
            workers     => _chomped($block, 'workers') // 1,
            log_level   => _chomped($block, 'log_level') // 'info',
            http2       => exists $block->{http2},
            timeout     => $timeout,
            fresh       => 1,
        );
        last if exists $block->{must_die};
        last if $server->try_start;
        # The port may have been taken since we picked it: pick another and retry.
        if ($attempt++ < 3 && ($server->{start_error} // '') =~ /Address already in use/) {
            $port = $FILE_PORT = free_port();
            $ENV{TEST_NGINX_PORT} = $port;
            next;
        }
        last;
    }

    if (exists $block->{must_die}) {
        return _run_must_die($block, $server, $name);
    }

    my $started = $server->running;
    Test::More::ok($started, "$name - nginx starts")
        or Test::More::diag($server->{start_error});

    my @requests = _block_requests($block);
    my $rounds = _repeat_of($block);
    for my $round (1 .. $rounds) {
        my $i = 0;
        for my $req (@requests) {
            my $label = @requests > 1 ? "$name (request $i)" : $name;
            $label .= " (round $round)" if $rounds > 1;
            my $res;
            if ($started) {
                my $spec = expand_vars($req->{raw} // $req->{line}, $server->port, $server->prefix);
                my $more_headers = expand_vars(_per_request($block, 'more_headers', $i),
                                               $server->port, $server->prefix);
                $res = defined $req->{raw}
                    ? $server->raw_request($spec, timeout => $timeout)
                    : $server->request(_split_request($spec, $more_headers), timeout => $timeout);
            } else {
                $res = Tailor::Test::Response->failed('nginx did not start');
            }
            _check_response($block, $server, $res, $i, $label);
            $i++;
        }
    }

    $server->stop;
    my $log = $server->error_log;
    _check_logs($block, $server, $log, $name);
    Test::More::ok($started && $log !~ /exited on signal/, "$name - no worker exited on a signal")
        or Test::More::diag(join "\n", grep { /exited on signal/ } split /\n/, $log);
}

sub _run_must_die {
    my ($block, $server, $name) = @_;
    my ($ok, $output) = $server->test_config;
    Test::More::ok(!$ok, "$name - nginx -t fails")
        or Test::More::diag("nginx -t output:\n$output");
    my $started = $server->try_start;
    Test::More::ok(!$started, "$name - nginx does not start");
    $server->stop;
    my $text = join "\n", $output, $server->_slurp('logs/stderr.log'), $server->error_log;
    _check_logs($block, $server, $text, $name);
}

sub _check_logs {
    my ($block, $server, $text, $name) = @_;
    for my $item (section_items(expand_vars(scalar $block->error_log, $server->port, $server->prefix))) {
        Test::More::ok(log_matches($text, $item), "$name - error_log has: $item")
            or Test::More::diag("log was:\n" . _tail($text));
    }
    for my $item (section_items(expand_vars(scalar $block->no_error_log, $server->port, $server->prefix))) {
        Test::More::ok(!log_matches($text, $item), "$name - error_log has no: $item")
            or Test::More::diag("matching lines:\n" . join "\n",
                grep { log_matches($_, $item) } split /\n/, $text);
    }
}

sub _tail {
    my ($text) = @_;
    my @lines = split /\n/, $text;
    splice @lines, 0, @lines - 40 if @lines > 40;
    return join "\n", @lines;
}

# "METHOD URI [PROTO]\nbody" plus more_headers text => arguments for Server::request.
sub _split_request {
    my ($spec, $more_headers) = @_;
    my ($line, $body) = split /\n/, $spec, 2;
    my @headers;
    for my $h (split /\n/, $more_headers // '') {
        next unless $h =~ /\S/;
        $h =~ /^([^:\s]+):[ \t]*(.*?)\s*$/ or die "Tailor::Test: bad more_headers line: $h\n";
        push @headers, $1, $2;
    }
    if (defined $body) {
        $body =~ s/\n\z//;
    }
    return ($line, headers => \@headers, (defined $body && length $body ? (body => $body) : ()));
}

sub _check_response {
    my ($block, $server, $res, $i, $name) = @_;
    my $diag_res = sub {
        Test::More::diag("response error: $res->{error}") if $res->{error};
        Test::More::diag("response:\n" . substr($res->{raw} // '', 0, 2000));
    };
    my $code = _per_request($block, 'error_code', $i);
    $code = 200 unless defined $code;
    $code =~ s/\s+//g;
    Test::More::is($res->{status}, $code, "$name - status $code") or $diag_res->();

    my $exact = expand_vars(_per_request($block, 'response_headers', $i), $server->port, $server->prefix);
    my @exact = section_items($exact);
    my %expected_values;
    for my $line (@exact) {
        push @{ $expected_values{lc $1} }, $2 if $line =~ /^\s*([^!:\s][^:]*?)\s*:\s?(.*)$/;
    }
    for my $line (@exact) {
        if ($line =~ /^\s*!\s*(\S+)\s*$/) {
            my @got = $res->header_values($1);
            Test::More::ok(!@got && !$res->{error}, "$name - header $1 absent")
                or Test::More::diag("$1: " . join(" | ", @got) . ($res->{error} ? " error: $res->{error}" : ''));
        } elsif ($line =~ /^\s*([^:\s][^:]*?)\s*:\s?(.*)$/) {
            my ($h, $want) = ($1, $2);
            my @got = $res->header_values($h);
            my @want = @{ $expected_values{lc $h} };
            my $ok = @got == @want && !grep { $got[$_] ne $want[$_] } 0 .. $#want;
            Test::More::ok($ok, "$name - header $h: $want")
                or Test::More::diag("got $h: " . (@got ? join(" | ", @got) : '(absent)')
                                    . "\nwant: " . join(" | ", @want)
                                    . ($res->{error} ? "\nerror: $res->{error}" : ''));
        } else {
            die "Tailor::Test: bad response_headers line: $line\n";
        }
    }

    my $like = _per_request($block, 'response_headers_like', $i);
    for my $line (section_items(expand_vars($like, $server->port, $server->prefix))) {
        $line =~ /^\s*([^:\s]+)\s*:\s?(.*)$/ or die "Tailor::Test: bad response_headers_like line: $line\n";
        my ($h, $re) = ($1, $2);
        my @got = $res->header_values($h);
        Test::More::ok(scalar(grep { /$re/ } @got), "$name - header $h like /$re/")
            or Test::More::diag("got $h: " . (@got ? join(" | ", @got) : '(absent)'));
    }

    my $body = _per_request($block, 'response_body', $i);
    if (defined $body) {
        $body = expand_vars($body, $server->port, $server->prefix);
        Test::More::is($res->{error} ? "<error: $res->{error}>" : $res->{body}, $body,
                       "$name - response_body");
    }
    my $body_like = _per_request($block, 'response_body_like', $i);
    if (defined $body_like) {
        my $re = ref $body_like eq 'Regexp' ? $body_like
               : do { my $s = expand_vars($body_like, $server->port, $server->prefix); $s =~ s/\n\z//; qr/$s/s };
        Test::More::like($res->{error} ? "<error: $res->{error}>" : $res->{body}, $re,
                         "$name - response_body_like");
    }
}

# =========================================================================================

package Tailor::Test::Server;

use strict;
use warnings;
use POSIX ();
use Time::HiRes ();
use File::Path ();
use File::Basename ();

sub new {
    my ($class, %args) = @_;
    my $self = bless {
        workers   => 1,
        log_level => 'info',
        timeout   => $Tailor::Test::DEFAULT_TIMEOUT,
        %args,
    }, $class;
    $self->{prefix} //= File::Spec->catdir(Tailor::Test::temp_root(), 'server-' . ++$SERVER_SEQ);
    $self->{prefix} =~ s{/+\z}{};
    $self->{port} //= Tailor::Test::free_port();
    $self->{user_files} = Tailor::Test::parse_user_files($self->{user_files});
    return $self;
}

sub port       { $_[0]{port} }
sub prefix     { $_[0]{prefix} }
sub master_pid { $_[0]{pid} }
sub running    { defined $_[0]{pid} }

sub _expand { Tailor::Test::expand_vars($_[1], $_[0]{port}, $_[0]{prefix}) }

sub _path {
    my ($self, $rel) = @_;
    return "$self->{prefix}/$rel";
}

sub _slurp {
    my ($self, $rel) = @_;
    open my $fh, '<', $self->_path($rel) or return '';
    local $/;
    my $text = <$fh>;
    return $text // '';
}

sub error_log  { $_[0]->_slurp('logs/error.log') }
sub access_log { $_[0]->_slurp('logs/access.log') }

sub _write_file {
    my ($path, $content) = @_;
    File::Path::make_path(File::Basename::dirname($path));
    open my $fh, '>', $path or die "Tailor::Test: cannot write $path: $!";
    print {$fh} $content;
    close $fh or die "Tailor::Test: cannot write $path: $!";
}

sub conf_text {
    my ($self) = @_;
    my $p = $self->{prefix};
    my $module = $ENV{TAILOR_MODULE} ? "load_module $ENV{TAILOR_MODULE};\n" : '';
    my $main = $self->_expand($self->{main_config} // '');
    my $http = $self->_expand($self->{http_config} // '');
    my $config = $self->_expand($self->{config} // '');
    my $workers = $self->{workers};
    my $listen = "listen 127.0.0.1:$self->{port};";
    if ($self->{http2}) {
        $listen = Tailor::Test::nginx_version() >= 1025001
            ? "$listen\n        http2 on;"
            : "listen 127.0.0.1:$self->{port} http2;";
    }
    my $temp = join '', map { "    ${_}_temp_path $p/tmp/$_;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);
    return <<"CONF";
${module}daemon off;
master_process on;
worker_processes $workers;
pid $p/logs/nginx.pid;
error_log $p/logs/error.log $self->{log_level};

$main

events {
    worker_connections 256;
}

http {
    access_log $p/logs/access.log;
    default_type text/plain;
$temp
$http

    server {
        $listen
        server_name localhost;

$config
    }
}
CONF
}

# Writes the prefix: conf/nginx.conf, logs/, html/, tmp/ and the user files.
sub write_files {
    my ($self) = @_;
    my $p = $self->{prefix};
    if ($self->{fresh} && -d $p) {
        File::Path::remove_tree($p, { keep_root => 1 });
    }
    File::Path::make_path(map { "$p/$_" } qw(conf logs html tmp));
    chmod 0755, $p, "$p/conf", "$p/html";
    my $files = $self->{user_files} || {};
    for my $rel (sort keys %$files) {
        die "Tailor::Test: user file path must be relative without '..': $rel\n"
            if $rel =~ m{^/} || $rel =~ m{(^|/)\.\.(/|$)};
        _write_file("$p/$rel", $self->_expand($files->{$rel}));
    }
    _write_file("$p/conf/nginx.conf", $self->conf_text);
}

sub _nginx_args {
    my ($self, @extra) = @_;
    my $p = $self->{prefix};
    return ($Tailor::Test::NGINX, '-p', "$p/", '-c', 'conf/nginx.conf', '-e', "$p/logs/error.log", @extra);
}

# fork + exec with stdout/stderr to a file under logs/; the child leads its own process group.
sub _spawn {
    my ($self, $out, @cmd) = @_;
    my $pid = fork;
    die "Tailor::Test: fork failed: $!" unless defined $pid;
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        # make test-sanitize: the sanitizer runtimes go into nginx only, not into perl.
        $ENV{LD_PRELOAD} = $ENV{TAILOR_NGINX_PRELOAD} if $ENV{TAILOR_NGINX_PRELOAD};
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print STDERR "Tailor::Test: exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }
    return $pid;
}

# Waits for $pid to exit; returns its exit status, or undef on timeout.
sub _wait_exit {
    my ($pid, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $r = waitpid($pid, POSIX::WNOHANG());
        return $? if $r == $pid;
        return -1 if $r < 0;    # not our child any more
        return undef if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

sub test_config {
    my ($self) = @_;
    $self->write_files;
    my $out = $self->_path('logs/nginx-t.log');
    unlink $out;
    my $pid = $self->_spawn($out, $self->_nginx_args('-t'));
    my $status = _wait_exit($pid, $self->{timeout});
    unless (defined $status) {
        kill 'KILL', -$pid;
        _wait_exit($pid, 5);
        return (0, $self->_slurp('logs/nginx-t.log') . "\n(nginx -t timed out)");
    }
    return ($status == 0, $self->_slurp('logs/nginx-t.log'));
}

sub _children {
    my ($ppid) = @_;
    my @pids;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // next;
        next unless $stat =~ /\)\s+\S+\s+(\d+)/;
        push @pids, $pid + 0 if $1 == $ppid;
    }
    return sort { $a <=> $b } @pids;
}

sub worker_pids {
    my ($self) = @_;
    return () unless $self->{pid};
    my @workers;
    for my $pid (_children($self->{pid})) {
        open my $fh, '<', "/proc/$pid/cmdline" or next;
        my $cmdline = do { local $/; <$fh> } // '';
        push @workers, $pid if $cmdline =~ /worker process/;
    }
    return @workers;
}

sub try_start {
    my ($self) = @_;
    die "Tailor::Test: nginx already running (pid $self->{pid})\n" if $self->{pid};
    delete $self->{start_error};
    $self->write_files;
    my $pidfile = $self->_path('logs/nginx.pid');
    unlink $pidfile;
    my $pid = $self->_spawn($self->_path('logs/stderr.log'), $self->_nginx_args);
    $self->{pid} = $pid;
    $LIVE{$pid} = $self;
    my $deadline = Time::HiRes::time() + $self->{timeout};
    while (1) {
        my $r = waitpid($pid, POSIX::WNOHANG());
        if ($r == $pid) {
            my $status = $?;
            delete $LIVE{$pid};
            delete $self->{pid};
            $self->{start_error} = "nginx exited during startup (status $status)\n"
                . "stderr:\n" . $self->_slurp('logs/stderr.log')
                . "error.log:\n" . Tailor::Test::_tail($self->error_log);
            return 0;
        }
        my $pid_in_file = $self->_slurp('logs/nginx.pid');
        if ($pid_in_file =~ /^\s*(\d+)/ && $1 == $pid
            && $self->worker_pids >= $self->{workers}) {
            return 1;
        }
        if (Time::HiRes::time() > $deadline) {
            $self->{start_error} = "nginx not ready after $self->{timeout}s\n"
                . "error.log:\n" . Tailor::Test::_tail($self->error_log);
            $self->stop(fast => 1);
            return 0;
        }
        Time::HiRes::sleep(0.02);
    }
}

sub start {
    my ($self) = @_;
    $self->try_start or die "Tailor::Test: nginx failed to start: $self->{start_error}\n";
    return $self;
}

sub stop {
    my ($self, %opt) = @_;
    my $pid = delete $self->{pid} or return;
    delete $LIVE{$pid};
    my $status;
    unless ($opt{fast}) {
        kill 'QUIT', $pid;
        $status = _wait_exit($pid, $self->{timeout});
    }
    unless (defined $status) {
        kill 'TERM', $pid;
        $status = _wait_exit($pid, 5);
    }
    unless (defined $status) {
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        _wait_exit($pid, 5);
    }
    # Workers share the master's process group: make sure none outlives it.
    if (kill 0, -$pid) {
        Time::HiRes::sleep(0.2);
        kill 'KILL', -$pid if kill 0, -$pid;
    }
    return $status;
}

sub DESTROY {
    my ($self) = @_;
    $self->stop(fast => 1) if $self->{pid} && $$ == $OWNER_PID;
}

sub reload {
    my ($self, %args) = @_;
    die "Tailor::Test: reload: nginx is not running\n" unless $self->{pid};
    delete $self->{reload_error};
    for my $key (qw(config http_config main_config workers log_level)) {
        $self->{$key} = $args{$key} if exists $args{$key};
    }
    if (exists $args{user_files}) {
        $self->{user_files} = Tailor::Test::parse_user_files($args{user_files});
    }
    my @old = $self->worker_pids;
    my $log_offset = length $self->error_log;
    local $self->{fresh} = 0;
    $self->write_files;
    kill 'HUP', $self->{pid} or die "Tailor::Test: cannot signal nginx: $!\n";
    my $deadline = Time::HiRes::time() + $self->{timeout};
    my %old = map { $_ => 1 } @old;
    while (1) {
        my $new_log = substr($self->error_log, $log_offset);
        if ($new_log =~ /^.*\[emerg\].*$/m) {
            $self->{reload_error} = $&;
            # The master keeps the old configuration and the old workers.
            return 0;
        }
        my @now = $self->worker_pids;
        my @fresh = grep { !$old{$_} } @now;
        my $old_alive = grep { kill 0, $_ } @old;
        return 1 if !$old_alive && @fresh >= $self->{workers};
        if (Time::HiRes::time() > $deadline) {
            $self->{reload_error} = "reload not finished after $self->{timeout}s";
            return 0;
        }
        Time::HiRes::sleep(0.02);
    }
}

our $BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

sub request {
    my ($self, $line, %opt) = @_;
    $line = $self->_expand($line);
    my ($method, $uri, $proto) = split ' ', $line;
    die "Tailor::Test: bad request line: $line\n" unless defined $uri;
    $proto //= 'HTTP/1.1';
    my $headers = $opt{headers} // [];
    my @pairs = ref $headers eq 'HASH' ? map { ($_, $headers->{$_}) } sort keys %$headers
                                       : @$headers;
    my %given;
    for (my $k = 0; $k < @pairs; $k += 2) { $given{lc $pairs[$k]} = 1 }
    # A header given as undef is not sent (e.g. User-Agent => undef: no User-Agent at all).
    my @kept;
    for (my $k = 0; $k < @pairs; $k += 2) {
        push @kept, $pairs[$k], $pairs[$k + 1] if defined $pairs[$k + 1];
    }
    @pairs = map { $self->_expand($_) } @kept;
    my $body = $opt{body};
    my @defaults;
    push @defaults, Host => 'localhost' unless $given{host};
    # Browsers always send a User-Agent; without one a request is a bot (default variant).
    push @defaults, 'User-Agent' => $BROWSER_UA unless $given{'user-agent'};
    push @defaults, Connection => 'close' unless $given{connection};
    if (defined $body && !$given{'content-length'} && !$given{'transfer-encoding'}) {
        push @pairs, 'Content-Length' => length $body;
    }
    my $bytes = "$method $uri $proto\r\n";
    my @all = (@defaults, @pairs);
    for (my $k = 0; $k < @all; $k += 2) {
        $bytes .= "$all[$k]: $all[$k + 1]\r\n";
    }
    $bytes .= "\r\n";
    $bytes .= $body if defined $body;
    if ($self->{http2}) {
        my @h2 = grep { lc $all[$_ * 2] ne 'connection' } 0 .. @all / 2 - 1;
        return Tailor::Test::Client::curl_http2($self->{port}, $method, $uri,
            [map { ($all[$_ * 2], $all[$_ * 2 + 1]) } @h2], $body,
            timeout => $opt{timeout} // $self->{timeout}, dir => $self->{prefix});
    }
    return Tailor::Test::Client::exchange($self->{port}, $bytes,
        timeout => $opt{timeout} // $self->{timeout}, head => uc($method) eq 'HEAD');
}

sub raw_request {
    my ($self, $bytes, %opt) = @_;
    die "Tailor::Test: raw_request is not available over HTTP/2\n" if $self->{http2};
    my $head = $bytes =~ /^HEAD\s/i;
    return Tailor::Test::Client::exchange($self->{port}, $bytes,
        timeout => $opt{timeout} // $self->{timeout}, head => $head);
}

# =========================================================================================

package Tailor::Test::Client;

use strict;
use warnings;
use Errno ();
use IO::Socket::IP ();
use IO::Select ();
use Time::HiRes ();

# Sends $bytes to 127.0.0.1:$port and reads one response.
sub exchange {
    my ($port, $bytes, %opt) = @_;
    my $timeout = $opt{timeout} // 10;
    my $deadline = Time::HiRes::time() + $timeout;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                                   Timeout => $timeout)
        or return Tailor::Test::Response->failed("connect to 127.0.0.1:$port: $@");
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    local $SIG{PIPE} = 'IGNORE';

    my $off = 0;
    my $write_error;
    while ($off < length $bytes) {
        my $left = $deadline - Time::HiRes::time();
        if ($left <= 0) { $write_error = 'timeout while sending'; last }
        next unless $sel->can_write($left);
        my $n = syswrite($sock, $bytes, 65536, $off);
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            $write_error = "write: $!";   # e.g. nginx closed early on a huge header
            last;
        }
        $off += $n;
    }

    my $buf = '';
    my $res;
    my $eof = 0;
    while (1) {
        $res = parse_response($buf, $eof, $opt{head});
        last if $res->{complete} || $eof;
        my $left = $deadline - Time::HiRes::time();
        if ($left <= 0) {
            $res->{error} = "timeout after ${timeout}s waiting for the response";
            last;
        }
        next unless $sel->can_read($left);
        my $n = sysread($sock, $buf, 65536, length $buf);
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            $eof = 1;   # ECONNRESET: take what we have
            next;
        }
        $eof = 1 if $n == 0;
    }
    close $sock;
    $res->{raw} = $buf;
    $res->{write_error} = $write_error;
    delete $res->{complete};
    return bless $res, 'Tailor::Test::Response';
}

# One HTTP/2 request (cleartext, prior knowledge) through curl; the response as exchange()
# returns it. Headers are sent as given ("Host" becomes :authority).
sub curl_http2 {
    my ($port, $method, $uri, $headers, $body, %opt) = @_;
    my $timeout = $opt{timeout} // 10;
    my $dir = $opt{dir};
    my ($head_file, $body_file, $data_file) = map { "$dir/tmp/curl-$$.$_" } qw(head body data);
    unlink $head_file, $body_file;
    my @args = ('curl', '-sS', '--http2-prior-knowledge', '--max-time', $timeout,
                '-D', $head_file, '-o', $body_file);
    push @args, uc($method) eq 'HEAD' ? ('-I') : ('-X', $method);
    for (my $k = 0; $k < @$headers; $k += 2) {
        push @args, '-H', "$headers->[$k]: $headers->[$k + 1]";
    }
    if (defined $body) {
        open my $fh, '>:raw', $data_file or die "Tailor::Test: $data_file: $!\n";
        print {$fh} $body;
        close $fh;
        push @args, '--data-binary', "\@$data_file";
    }
    push @args, "http://127.0.0.1:$port$uri";
    my $pid = open my $out, '-|';
    die "Tailor::Test: fork: $!\n" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @args or POSIX::_exit(127);
    }
    my $stderr = do { local $/; <$out> } // '';
    close $out;
    my $rc = $? >> 8;
    my $slurp = sub {
        open(my $fh, '<:raw', $_[0]) or return undef;
        local $/;
        return scalar <$fh>;
    };
    my $raw_head = $slurp->($head_file);
    my $raw_body = $slurp->($body_file);
    unlink $head_file, $body_file, $data_file;
    unless (defined $raw_head && length $raw_head) {
        return Tailor::Test::Response->failed("curl exited with $rc: $stderr");
    }
    # the last header block (after any 1xx)
    my @blocks = grep { /\S/ } split /\r\n\r\n/, $raw_head;
    my ($status_line, @lines) = split /\r\n/, $blocks[-1];
    my $res = { status => 0, headers => {}, header_list => [], body => $raw_body // '',
                raw => $raw_head . ($raw_body // '') };
    unless ($status_line =~ m{^(HTTP/2(?:\.0)?)\s+(\d{3})}) {
        $res->{error} = "bad status line: $status_line";
        return bless $res, 'Tailor::Test::Response';
    }
    @$res{qw(protocol status reason)} = ('HTTP/2', $2 + 0, '');
    _parse_header_lines($res, @lines);
    $res->{error} = "curl exited with $rc: $stderr" if $rc != 0;
    return bless $res, 'Tailor::Test::Response';
}

# "Name: value" lines into $res->{headers} (lower-case names; an array reference for a
# repeated header) and $res->{header_list} (as received).
sub _parse_header_lines {
    my ($res, @lines) = @_;
    $res->{headers} = {};
    $res->{header_list} = [];
    for my $line (@lines) {
        next unless $line =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/;
        push @{ $res->{header_list} }, [$1, $2];
        my $key = lc $1;
        if (exists $res->{headers}{$key}) {
            my $v = $res->{headers}{$key};
            $res->{headers}{$key} = [ref $v ? @$v : $v, $2];
        } else {
            $res->{headers}{$key} = $2;
        }
    }
}

# Parses $buf as one HTTP response. Returns {complete => bool, status, reason, protocol,
# headers, header_list, body, error}. At $eof, an incomplete response carries an error.
sub parse_response {
    my ($buf, $eof, $head) = @_;
    my $res = { status => 0, headers => {}, header_list => [], body => '' };
    my $pos = 0;
    my $hdr_end;
    while (1) {
        $hdr_end = index($buf, "\r\n\r\n", $pos);
        if ($hdr_end < 0) {
            $res->{error} = length $buf ? 'truncated response header' : 'no response'
                if $eof;
            return $res;
        }
        my $head_text = substr($buf, $pos, $hdr_end - $pos);
        my ($status_line, @lines) = split /\r\n/, $head_text;
        unless ($status_line =~ m{^(HTTP/\d\.\d)\s+(\d{3})(?:\s+(.*))?$}) {
            $res->{error} = "bad status line: $status_line";
            $res->{complete} = 1;
            return $res;
        }
        @$res{qw(protocol status reason)} = ($1, $2 + 0, $3 // '');
        _parse_header_lines($res, @lines);
        $pos = $hdr_end + 4;
        last unless $res->{status} >= 100 && $res->{status} < 200;   # skip 100 Continue
    }
    my $rest = substr($buf, $pos);
    my $status = $res->{status};
    if ($head || $status == 204 || $status == 304) {
        $res->{complete} = 1;
        return $res;
    }
    my $te = $res->{headers}{'transfer-encoding'};
    my $cl = $res->{headers}{'content-length'};
    if (defined $te && !ref $te && $te =~ /chunked/i) {
        my $body = '';
        my $p = 0;
        while (1) {
            my $eol = index($rest, "\r\n", $p);
            last if $eol < 0;
            my $size_line = substr($rest, $p, $eol - $p);
            unless ($size_line =~ /^([0-9a-fA-F]+)/) {
                $res->{error} = "bad chunk size line: $size_line";
                $res->{complete} = 1;
                $res->{body} = $body;
                return $res;
            }
            my $size = hex $1;
            if ($size == 0) {
                # trailers until an empty line
                my $end = index($rest, "\r\n\r\n", $eol);
                if ($end >= 0 || substr($rest, $eol, 4) eq "\r\n\r\n") {
                    $res->{body} = $body;
                    $res->{complete} = 1;
                    return $res;
                }
                last;
            }
            last if length($rest) < $eol + 2 + $size + 2;
            $body .= substr($rest, $eol + 2, $size);
            $p = $eol + 2 + $size + 2;
        }
        $res->{body} = $body;
        $res->{error} = 'truncated chunked body' if $eof;
        return $res;
    }
    if (defined $cl && !ref $cl && $cl =~ /^\s*(\d+)\s*$/) {
        my $len = $1;
        if (length $rest >= $len) {
            $res->{body} = substr($rest, 0, $len);
            $res->{complete} = 1;
        } else {
            $res->{body} = $rest;
            $res->{error} = "truncated body: " . length($rest) . " of $len bytes" if $eof;
        }
        return $res;
    }
    # No framing: the body runs until the server closes.
    $res->{body} = $rest;
    $res->{complete} = 1 if $eof;
    return $res;
}

# =========================================================================================

package Tailor::Test::Response;

sub failed {
    my ($class, $why) = @_;
    return bless { status => 0, headers => {}, header_list => [], body => '', raw => '',
                   error => $why }, $class;
}

sub header_values {
    my ($self, $name) = @_;
    my $v = $self->{headers}{lc $name};
    return () unless defined $v;
    return ref $v ? @$v : ($v);
}

sub header {
    my ($self, $name) = @_;
    my @v = $self->header_values($name);
    return $v[0];
}

1;
