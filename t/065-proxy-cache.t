# Proxy/cache mode: one cache entry per (URL, variant), never per visitor; every visitor gets
# its own variant and its own cookie; a shared cache in front never replays one segment's
# page to another.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use File::Find;

require_tailor_module();

my $rules = <<'RULES';
segment a = cookie("seg") == "a"
segment b = cookie("seg") == "b"
page "/*" {
  variant "va" when a
  variant "vb" when b
  default "vc"
}
RULES

# Tailor in front of an origin (a unix socket server of the same nginx), caching pages.
my $tailor = Tailor::Test::Server->new(
    workers     => 2,
    http_config => <<'HTTP',
tailor_rules conf/site.rules;
proxy_cache_path $TEST_NGINX_PREFIX/cache levels=1 keys_zone=pages:1m;
server {
    listen unix:$TEST_NGINX_PREFIX/origin.sock;
    location / {
        add_header Cache-Control "public, max-age=600";
        return 200 "page $uri for variant $http_x_tailor_variant\n";
    }
}
HTTP
    config => <<'CONF',
location / {
    tailor on;
    proxy_set_header X-Tailor-Variant $tailor_variant;
    proxy_set_header X-Tailor-Segments $tailor_segments;
    proxy_cache pages;
    proxy_cache_key "$scheme$host$request_uri$tailor_cache_key";
    proxy_cache_valid 200 10m;
    proxy_pass http://unix:$TEST_NGINX_PREFIX/origin.sock:;
    add_header X-Cache $upstream_cache_status;
}
CONF
    user_files => { 'conf/site.rules' => $rules },
);
$tailor->start;

my (%ids, $wrong_body, $bad_cookie, %variant_count);
my @segs = ('a', 'b', undef);
for my $i (0 .. 499) {
    my $seg = $segs[$i % 3];
    my $want = defined $seg ? "v$seg" : 'vc';
    my $r = $tailor->request('GET /products/42', headers => [defined $seg ? (Cookie => "seg=$seg") : ()]);
    die "request $i: status $r->{status}" unless $r->{status} == 200;
    $wrong_body++ unless $r->{body} eq "page /products/42 for variant $want\n";
    my @c = $r->header_values('Set-Cookie');
    if (@c == 1 && $c[0] =~ /^tailor_id=([A-Za-z0-9_-]{22});/) { $ids{$1}++ } else { $bad_cookie++ }
    $variant_count{$want}++;
}
is $wrong_body // 0, 0, '500 visitors: each body is its own variant';
is $bad_cookie // 0, 0, '500 visitors: each response has exactly one visitor cookie';
is scalar(keys %ids), 500, '500 visitors: 500 distinct cookies (no response carries another\'s)';

my @entries;
find(sub { push @entries, $File::Find::name if -f $_ }, $tailor->prefix . '/cache');
ok @entries >= 1 && @entries <= 3, 'the cache holds at most one entry per variant (' . scalar(@entries) . ')';

my $hit = $tailor->request('GET /products/42', headers => [Cookie => 'seg=b']);
is $hit->header('X-Cache'), 'HIT', 'a later visitor of a segment is served from the cache';
is $hit->{body}, "page /products/42 for variant vb\n", 'cached copy of the right variant';
like $hit->header('Set-Cookie') // '', qr/^tailor_id=/, 'the cached response still gets its own new cookie';
like $hit->header('Cache-Control') // '', qr/^private\b/, 'the response to the client is private';

# A shared cache in front of Tailor (a second nginx caching by URL only, like a CDN).
my $front = Tailor::Test::Server->new(
    http_config => 'proxy_cache_path $TEST_NGINX_PREFIX/cdn levels=1 keys_zone=cdn:1m;',
    config      => 'location / { proxy_cache cdn; proxy_cache_key $request_uri; '
                 . 'proxy_pass http://127.0.0.1:' . $tailor->port . '; '
                 . 'add_header X-CDN $upstream_cache_status; }',
);
$front->start;
my ($mismatch, $cdn_hits) = (0, 0);
for my $i (0 .. 59) {
    my $seg = $segs[$i % 3];
    my $want = defined $seg ? "v$seg" : 'vc';
    my $r = $front->request('GET /products/7', headers => [defined $seg ? (Cookie => "seg=$seg") : ()]);
    $mismatch++ unless $r->{body} eq "page /products/7 for variant $want\n";
    $cdn_hits++ if ($r->header('X-CDN') // '') eq 'HIT';
}
is $mismatch, 0, 'shared cache in front: every segment gets its own page';
is $cdn_hits, 0, 'shared cache in front: personalized responses are never stored';

unlike $tailor->error_log, qr/exited on signal/, 'no crash';
$front->stop;
$tailor->stop;
done_testing;
