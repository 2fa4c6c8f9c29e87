# Geolocation through real nginx: the client address from real_ip_header, MaxMind's test
# databases and the project's demo database, variables, rules, corrupt databases and reload.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use Cwd qw(abs_path);
use File::Copy qw(copy);
use Time::HiRes qw(sleep time);

require_tailor_module();

my $build = $ENV{TAILOR_BUILD} or plan skip_all => 'TAILOR_BUILD not set';
my $demo = "$build/demo-geo.mmdb";
my $shared = abs_path('../shared/data/maxmind-test');
plan skip_all => "no demo database at $demo" unless -f $demo;

my $geo_vars = 'country=$tailor_geo_country city=$tailor_geo_city tz=$tailor_geo_timezone '
             . 'eu=$tailor_geo_eu asn=$tailor_geo_asn org=$tailor_geo_org variant=$tailor_variant';

my $rules = <<'RULES';
segment france  = geo.country == "FR"
segment europe  = geo.continent == "EU"
segment near_paris = geo.distance_km(48.8566, 2.3522) < 50
page "/" {
  variant "home-paris"  when near_paris
  variant "home-fr"     when france
  variant "home-europe" when europe
  default "home"
}
RULES

sub server {
    my (%geo) = @_;
    my $dbs = join '', map { "tailor_geoip2 $_;\n" } @{ $geo{dbs} };
    return Tailor::Test::Server->new(
        http_config => "tailor_rules conf/site.rules;\n$dbs"
                     . "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n",
        config      => "location / { tailor on; return 200 \"$geo_vars\\n\"; }",
        user_files  => { 'conf/site.rules' => $geo{rules} // $rules },
        workers     => $geo{workers} // 1,
    );
}

sub get_from {
    my ($t, $ip, $path) = @_;
    return $t->request('GET ' . ($path // '/'), headers => ['X-Forwarded-For' => $ip]);
}

# The project's own demo database (documentation ranges).
{
    my $t = server(dbs => [$demo]);
    $t->start;
    my $r = get_from($t, '198.51.100.7');
    is $r->{status}, 200, 'demo db: served';
    is $r->{body}, "country=FR city=Paris tz=Europe/Paris eu=1 asn= org= variant=home-paris\n",
        'demo db: Paris, near Paris';
    like get_from($t, '198.51.100.200')->{body}, qr/^country=DE city=Berlin .* variant=home-europe$/m,
        'demo db: Berlin is in Europe, not near Paris';
    like get_from($t, '2001:db8:1::42')->{body}, qr/^country=FR city=Paris /,
        'demo db: an IPv6 client';
    is get_from($t, '10.1.2.3')->{body}, "country= city= tz= eu= asn= org= variant=home\n",
        'demo db: unknown address: missing values, default variant';
    like get_from($t, '192.0.2.10')->{body}, qr/^country=US .*eu=0 .*variant=home$/m,
        'demo db: US: eu=0, default variant';
    unlike $t->error_log, qr/exited on signal/, 'demo db: no crash';
    $t->stop;
}

SKIP: {
    skip "no MaxMind test databases at ../shared", 9 unless $shared && -d $shared;

    my $t = server(dbs => ["$shared/GeoIP2-City-Test.mmdb", "$shared/GeoLite2-ASN-Test.mmdb"]);
    $t->start;
    like get_from($t, '81.2.69.142')->{body}, qr/^country=GB city=London tz=Europe\/London eu=0 /,
        'City-Test: 81.2.69.142 is London';
    like get_from($t, '2.125.160.216')->{body}, qr/^country=GB city=Boxford /,
        'City-Test: 2.125.160.216 is Boxford';
    my $se = get_from($t, '89.160.20.112')->{body};
    like $se, qr/^country=SE city=Link\x{c3}\x{b6}ping /, 'City-Test: UTF-8 name intact (Linköping)';
    like $se, qr/variant=home-europe$/m, 'City-Test: Sweden is in Europe';
    like get_from($t, '216.160.83.56')->{body}, qr/^country=US city=Milton /,
        'City-Test: 216.160.83.56 is Milton';
    like get_from($t, '2001:218::1')->{body}, qr/^country=JP city= /,
        'City-Test: IPv6 2001:218:: is JP without a city';
    like get_from($t, '1.128.0.1')->{body}, qr/asn=1221 org=Telstra Pty Ltd /,
        'ASN-Test: 1.128.0.0/11 is AS1221 Telstra';
    is get_from($t, '127.0.0.1')->{status}, 200, 'unknown address served';
    unlike $t->error_log, qr/exited on signal/, 'test databases: no crash';
    $t->stop;
}

# Corrupt databases: nginx -t fails with a clear message, or lookups are missing; no crash.
SKIP: {
    skip "no MaxMind test databases at ../shared", 1 unless $shared && -d "$shared/bad-data";
    my @bad = (glob("$shared/bad-data/*.mmdb"),
               map { "$shared/$_" } qw(GeoIP2-City-Test-Broken-Double-Format.mmdb
                                       MaxMind-DB-test-broken-pointers-24.mmdb
                                       MaxMind-DB-test-broken-search-tree-24.mmdb));
    for my $db (@bad) {
        my $name = ($db =~ m{([^/]+)$})[0];
        my $t = server(dbs => [$db]);
        $t->{user_files}{'conf/site.rules'} = $rules;
        my $ok = $t->try_start;
        if (!$ok) {
            like $t->{start_error}, qr/\Q$name\E/, "$name: refused at load, naming the file";
            next;
        }
        my $crashed = 0;
        for my $ip ('81.2.69.142', '1.1.1.1', '::1', '2001:218::1', '198.51.100.7') {
            my $r = get_from($t, $ip);
            $crashed++ unless $r->{status} == 200;
        }
        is $crashed, 0, "$name: loaded, every lookup served";
        unlike $t->error_log, qr/exited on signal/, "$name: no worker crashed";
        $t->stop;
    }
}

# Hot reload: replace the file while serving; a corrupt replacement keeps the old data.
{
    my $t = server(dbs => ['conf/geo.mmdb auto_reload=1s'], workers => 2);
    my $prefix_db;
    $t->{user_files}{'conf/geo.mmdb'} = do { local (@ARGV, $/) = ($demo); binmode STDIN; <> };
    $t->start;
    $prefix_db = $t->prefix . '/conf/geo.mmdb';
    like get_from($t, '198.51.100.7')->{body}, qr/^country=FR /, 'reload: demo data first';

    SKIP: {
        skip "no MaxMind test databases at ../shared", 4 unless $shared && -d $shared;
        my $failed = 0;
        # Replace atomically (rename), as deployment tools do.
        copy("$shared/GeoIP2-City-Test.mmdb", "$prefix_db.new") or die $!;
        rename "$prefix_db.new", $prefix_db or die $!;
        my $deadline = time + 6;
        my $switched = 0;
        while (time < $deadline) {
            my $r = get_from($t, '81.2.69.142');
            $failed++ unless $r->{status} == 200;
            if ($r->{body} =~ /^country=GB city=London/) { $switched++; last if $switched >= 10 }
            sleep 0.05;
        }
        ok $switched >= 10, 'reload: the new database serves within the interval';
        is $failed, 0, 'reload: no failed request while switching';

        open my $fh, '>', "$prefix_db.new" or die $!;
        print $fh "this is not a MaxMind database\n" x 10;
        close $fh;
        rename "$prefix_db.new", $prefix_db or die $!;
        sleep 2.5;
        like get_from($t, '81.2.69.142')->{body}, qr/^country=GB city=London/,
            'reload: a corrupt replacement keeps the old data';
        like $t->error_log, qr/geo\.mmdb.*rejected/, 'reload: the rejection is logged';
    }
    unlike $t->error_log, qr/exited on signal/, 'reload: no crash';
    $t->stop;
}

done_testing;
