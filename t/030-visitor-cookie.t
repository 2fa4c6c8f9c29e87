# The visitor cookie: minted once, reused, never re-sent; malformed values are replaced and
# never crash a worker.
use strict;
use warnings;
use Tailor::Test;
use Test::More;

require_tailor_module();

my $ID = qr/[A-Za-z0-9_-]{22}/;

my $t = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_visitor $tailor_variant\n"; }'
                 . ' location /off { return 200 "off\n"; }',
    user_files  => { 'conf/site.rules' => "page \"/*\" { default \"home\" }\n" },
    workers     => 2,
);
$t->start;

# First visit: a fresh ID in a cookie with the documented attributes.
my $r1 = $t->request('GET /');
is $r1->{status}, 200, 'first request served';
my @set = $r1->header_values('Set-Cookie');
is scalar(@set), 1, 'exactly one Set-Cookie on the first request';
like $set[0], qr/^tailor_id=($ID); HttpOnly; SameSite=Lax; Path=\/; Max-Age=34128000; Expires=/,
    'cookie: ID, HttpOnly, SameSite=Lax, Path=/, 395 days';
unlike $set[0], qr/Secure/, 'no Secure over plain http';
my ($id) = $set[0] =~ /^tailor_id=($ID)/;
like $r1->{body}, qr/^\Q$id\E home\n$/, '$tailor_visitor is the ID just set';

# Second visit with the cookie: same visitor, no new cookie.
my $r2 = $t->request('GET /', headers => [Cookie => "other=1; tailor_id=$id; x=y"]);
is $r2->{status}, 200, 'second request served';
is $r2->{body}, "$id home\n", 'same $tailor_visitor with the cookie';
is scalar(my @c2 = $r2->header_values('Set-Cookie')), 0, 'no Set-Cookie when the cookie is valid';

# Two first visits get different IDs.
my ($id_b) = ($t->request('GET /')->header_values('Set-Cookie'))[0] =~ /^tailor_id=($ID)/;
isnt $id_b, $id, 'each new visitor gets its own ID';

# Tampered, truncated, oversized, binary and empty values: a fresh ID, never a crash.
my @bad = (
    substr($id, 0, 21),                 # truncated
    $id . 'A',                          # one too long
    ('A' x 21) . '=',                   # not URL-safe base64
    ('A' x 21) . 'B',                   # non-canonical trailing bits
    'x' x 4000,                         # oversized
    "\xff\xfe" x 11,                    # binary
    '',                                 # empty
    '%41%41%41%41%41%41%41%41%41%41%41',
);
for my $bad (@bad) {
    my $r = $t->request('GET /', headers => [Cookie => "tailor_id=$bad"]);
    is $r->{status}, 200, 'malformed cookie: served (' . length($bad) . ' bytes)';
    my ($new) = ($r->header_values('Set-Cookie'))[0] // '';
    like $new, qr/^tailor_id=$ID;/, 'malformed cookie: replaced by a fresh ID';
    unlike $new, qr/^tailor_id=\Q$bad\E;/, 'malformed cookie: not reused' if length $bad;
}

# A huge Cookie header (close to nginx's limit) is served too.
my $huge = $t->request('GET /', headers => [Cookie => 'a=' . ('b' x 7000) . "; tailor_id=$id"]);
is $huge->{status}, 200, 'huge Cookie header served';
is $huge->{body}, "$id home\n", 'ID found after a huge cookie';

# Several Cookie headers: the ID is found in the second one.
my $multi = $t->request('GET /', headers => [Cookie => 'a=1', Cookie => "tailor_id=$id"]);
is $multi->{body}, "$id home\n", 'ID found in a second Cookie header';

# Where tailor is off, no cookie at all.
my $off = $t->request('GET /off');
is scalar(my @c3 = $off->header_values('Set-Cookie')), 0, 'no cookie where tailor is off';

unlike $t->error_log, qr/exited on signal/, 'no worker crashed';
unlike $t->error_log, qr/\[(alert|crit|emerg)\]/, 'nothing above error in the log';
$t->stop;
done_testing;
