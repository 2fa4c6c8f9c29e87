# Self-test of the nginx test harness (t/lib/Tailor/Test.pm) on plain nginx features, so it
# passes with and without TAILOR_MODULE. Checks of the parser and helpers and of the
# programmatic API run first (the file plans their count plus the blocks' count itself), then
# the data blocks.
use Tailor::Test;

# --- checks of the harness pieces that need no nginx -------------------------------------
my $raw_chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\n"
    . "Set-Cookie: b=2\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
my $parsed = Tailor::Test::Client::parse_response($raw_chunked, 0, 0);

my @unit = (
    sub { ok $parsed->{complete}, 'parser: chunked response complete' },
    sub { is $parsed->{body}, 'hello world', 'parser: chunked body decoded' },
    sub { is_deeply $parsed->{headers}{'set-cookie'}, ['a=1', 'b=2'], 'parser: repeated headers kept' },
    sub {
        my $p = Tailor::Test::Client::parse_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1, 0);
        like $p->{error}, qr/truncated body/, 'parser: short Content-Length body is an error';
    },
    sub {
        my $p = Tailor::Test::Client::parse_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, 0);
        ok !$p->{complete}, 'parser: incomplete body waits for more';
    },
    sub {
        my $f = Tailor::Test::parse_user_files(">>> html/a.txt\nA\n>>> conf/b\nB1\nB2\n");
        is_deeply $f, { 'html/a.txt' => "A\n", 'conf/b' => "B1\nB2\n" }, 'user_files format parsed';
    },
    sub {
        is Tailor::Test::expand_vars('listen $TEST_NGINX_PORT ${TEST_NGINX_PREFIX}/x $remote_addr', 81, '/p'),
           'listen 81 /p/x $remote_addr', 'substitution leaves nginx variables alone';
    },
    sub {
        local $ENV{TAILOR_BUILD} = '/b';
        is Tailor::Test::expand_vars('$TAILOR_BUILD/tailorc', 1, '/p'), '/b/tailorc', '$TAILOR_BUILD substituted';
    },
    sub {
        local $ENV{TAILOR_BUILD};
        ok !eval { Tailor::Test::expand_vars('$TAILOR_BUILD/x', 1, '/p'); 1 }, 'unset $TAILOR_BUILD dies when used';
    },
    sub {
        my $conf = Tailor::Test::Server->new(config => '')->conf_text;
        if ($ENV{TAILOR_MODULE}) {
            like $conf, qr/\Aload_module \Q$ENV{TAILOR_MODULE}\E;$/m, 'load_module written first when TAILOR_MODULE is set';
        } else {
            unlike $conf, qr/load_module/, 'no load_module without TAILOR_MODULE';
        }
    },
);

# --- the programmatic API: two requests sharing state, a reload, a rejected reload ----------
my @api = (
    sub {
        my $t = Tailor::Test::Server->new(
            config => 'location / { add_header Set-Cookie "seen=$arg_n; Path=/"; '
                    . 'add_header Set-Cookie "second=1"; return 200 "cookie=$cookie_seen\n"; }',
            user_files => { 'html/static.txt' => "static file\n" },
            workers => 2,
        );
        $t->start;
        is scalar($t->worker_pids), 2, 'api: two workers running';
        my $r1 = $t->request('GET /?n=42');
        is $r1->{status}, 200, 'api: first request 200';
        is_deeply [$r1->header_values('Set-Cookie')], ['seen=42; Path=/', 'second=1'],
            'api: both Set-Cookie headers, in order';
        my ($cookie) = $r1->header_values('Set-Cookie');
        $cookie =~ s/;.*//;
        my $r2 = $t->request('GET /', headers => [Cookie => $cookie]);
        is $r2->{body}, "cookie=42\n", 'api: second request sends the first response\'s cookie';

        my @old = $t->worker_pids;
        ok $t->reload(config => 'location / { return 200 "reloaded\n"; } '
                              . 'location /static.txt { root $TEST_NGINX_PREFIX/html; }'),
            'api: reload succeeds' or diag $t->{reload_error};
        my %old = map { $_ => 1 } @old;
        ok !(grep { $old{$_} } $t->worker_pids), 'api: workers replaced by reload';
        is $t->request('GET /')->{body}, "reloaded\n", 'api: new config serves after reload';
        is $t->request('GET /static.txt')->{body}, "static file\n", 'api: static user file served';

        ok !$t->reload(config => 'location / { no_such_directive; }'),
            'api: reload with a bad config fails';
        like $t->{reload_error}, qr/unknown directive "no_such_directive"/, 'api: reload error reported';
        is $t->request('GET /')->{body}, "reloaded\n", 'api: old config still serves after failed reload';

        my $big = $t->raw_request("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " . ('a' x 20000)
                                  . "\r\nConnection: close\r\n\r\n");
        is $big->{status}, 400, 'api: huge header answered with 400 by plain nginx';

        my $master = $t->master_pid;
        my @workers = $t->worker_pids;
        $t->stop;
        ok !(grep { kill 0, $_ } $master, @workers), 'api: stop leaves no nginx process';
        like $t->error_log, qr/\[notice\].*(exit|gracefully)/, 'api: error_log readable after stop';
    },
    sub {
        my $t = Tailor::Test::Server->new(config => 'location / { return 200; }',
                                          main_config => 'bogus_top_level on;');
        ok !$t->try_start, 'api: try_start reports a failed start';
        like $t->{start_error}, qr/unknown directive "bogus_top_level"/, 'api: start error has the reason';
        my ($ok, $out) = $t->test_config;
        ok !$ok, 'api: test_config fails for a bad config';
        my $r = Tailor::Test::Client::exchange($t->port, "GET / HTTP/1.0\r\n\r\n", timeout => 2);
        like $r->{error}, qr/connect/, 'api: request to a dead port reports a connect error';
    },
);

# 10 unit checks + 14 + 4 api checks, then the blocks' planned tests.
my $api_tests = 10 + 14 + 4;
my $block_tests = 0;
$block_tests += Tailor::Test::_plan_block($_) for blocks();
plan tests => $api_tests + $block_tests;
$_->() for @unit, @api;
run_tests();

__DATA__

=== TEST 1: return with a body and a header
--- config
location /hello {
    add_header X-Test "yes";
    return 200 "hello $arg_name\n";
}
--- request
GET /hello?name=world
--- response_body
hello world
--- response_headers
X-Test: yes
Content-Type: text/plain
!X-Absent
--- response_headers_like
Server: ^nginx
--- no_error_log
[error]
[alert]
[emerg]

=== TEST 2: error_code, body_like and more_headers
--- config
location / {
    if ($http_x_denied) { return 403 "denied by $http_x_denied\n"; }
    return 200 "ok\n";
}
--- request
GET /private
--- more_headers
X-Denied: test-suite
--- error_code: 403
--- response_body_like: ^denied by test-\w+$

=== TEST 3: user files served as static files, substitutions in config
--- config
location / { root $TEST_NGINX_PREFIX/html; }
location = /port { return 200 "port=$server_port\n"; }
--- user_files
>>> html/index.html
<h1>home</h1>
>>> html/sub/page.txt
page on $TEST_NGINX_PORT
--- request eval
["GET /", "GET /sub/page.txt", "GET /port", "GET /missing"]
--- error_code eval
[200, 200, 200, 404]
--- response_body eval
["<h1>home</h1>\n", "page on $ENV{TEST_NGINX_PORT}\n", "port=$ENV{TEST_NGINX_PORT}\n", undef]
--- response_headers eval
["Content-Type: text/html", "Content-Type: text/plain", undef, undef]
--- error_log
open()
No such file or directory

=== TEST 4: info-level messages are visible to error_log
--- config
location / { return 200 "x\n"; }
--- raw_request eval
"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " . ("b" x 12000) . "\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- error_log
client sent too long header line
--- no_error_log
[alert]

=== TEST 5: must_die with a bad directive
--- config
location / { frobnicate on; }
--- must_die
--- error_log
unknown directive "frobnicate"
--- no_error_log eval
qr/syntax is ok/

=== TEST 6: chunked response, two workers, http_config and main_config
--- main_config
env TAILOR_HARNESS_TEST;
--- http_config
map $arg_v $mapped { default "none"; one "1"; }
--- config
location / {
    chunked_transfer_encoding on;
    root $TEST_NGINX_PREFIX/html;
    ssi on;
}
--- user_files
>>> html/index.html
a<!--# echo var="mapped" -->b
--- workers: 2
--- request
GET /index.html?v=one
--- response_body
a1b
--- response_headers
Transfer-Encoding: chunked
!Content-Length

=== TEST 7: POST body is sent with Content-Length
--- config
location / {
    client_body_buffer_size 1k;
    proxy_pass http://127.0.0.1:$TEST_NGINX_PORT/echo;
}
location /echo { return 200 "len=$content_length\n"; }
--- request
POST /form
a=1&b=2
--- response_body
len=7
