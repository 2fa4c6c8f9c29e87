#!/usr/bin/perl
# Writes Tailor's small demo/test MaxMind DB in the GeoIP2-City layout (database_type
# "Tailor-Demo-City"), with Debian's libmaxmind-db-writer-perl. Every network is a
# documentation range (RFC 5737 / RFC 3849), so the data cannot be mistaken for real
# geolocation. The build writes it to <build>/demo-geo.mmdb; geo/README.md lists the networks,
# and the demo and tests depend on them: change both together.
#
#   198.51.100.0/25    FR  Île-de-France (IDF)  Paris          75001  Europe/Paris         EU
#   198.51.100.128/25  DE  Berlin (BE)          Berlin         10115  Europe/Berlin        EU
#   203.0.113.0/24     GB  England (ENG)        London         EC1A   Europe/London
#   192.0.2.0/24       US  California (CA)      San Francisco  94103  America/Los_Angeles
#   2001:db8:1::/48    FR  Île-de-France (IDF)  Paris          75001  Europe/Paris         EU
#   2001:db8:2::/48    JP  (country only: no city, subdivision or postal code)
#
# Usage: make-demo-db.pl OUTPUT.mmdb
use strict;
use warnings;
use utf8;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUTPUT.mmdb\n";

my %types = (
    city                 => 'map',
    continent            => 'map',
    country              => 'map',
    registered_country   => 'map',
    location             => 'map',
    postal               => 'map',
    names                => 'map',
    subdivisions         => [ 'array', 'map' ],
    en                   => 'utf8_string',
    fr                   => 'utf8_string',
    de                   => 'utf8_string',
    code                 => 'utf8_string',
    iso_code             => 'utf8_string',
    time_zone            => 'utf8_string',
    geoname_id           => 'uint32',
    accuracy_radius      => 'uint16',
    latitude             => 'double',
    longitude            => 'double',
    is_in_european_union => 'boolean',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => 'Tailor-Demo-City',
    languages                => ['en'],
    description              => { en => 'Tailor demo geolocation data (documentation ranges)' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => 1,
);

sub country {
    my ($iso, $name, $continent, $eu) = @_;
    my %c = (iso_code => $iso, names => { en => $name });
    $c{is_in_european_union} = 1 if $eu;
    return \%c;
}

my %europe = (code => 'EU', names => { en => 'Europe' });

my %paris = (
    continent          => \%europe,
    country            => country('FR', 'France', 'EU', 1),
    registered_country => country('FR', 'France', 'EU', 1),
    subdivisions       => [ { iso_code => 'IDF', names => { en => 'Île-de-France' } } ],
    city               => { geoname_id => 2988507, names => { en => 'Paris', fr => 'Paris' } },
    postal             => { code => '75001' },
    location           => { latitude => 48.8566, longitude => 2.3522, accuracy_radius => 20,
                            time_zone => 'Europe/Paris' },
);

$tree->insert_network('198.51.100.0/25', \%paris);
$tree->insert_network('2001:db8:1::/48', \%paris);

$tree->insert_network('198.51.100.128/25', {
    continent          => \%europe,
    country            => country('DE', 'Germany', 'EU', 1),
    registered_country => country('DE', 'Germany', 'EU', 1),
    subdivisions       => [ { iso_code => 'BE', names => { en => 'Land Berlin' } } ],
    city               => { geoname_id => 2950159, names => { en => 'Berlin', de => 'Berlin' } },
    postal             => { code => '10115' },
    location           => { latitude => 52.52, longitude => 13.405, accuracy_radius => 50,
                            time_zone => 'Europe/Berlin' },
});

$tree->insert_network('203.0.113.0/24', {
    continent          => \%europe,
    country            => country('GB', 'United Kingdom', 'EU', 0),
    registered_country => country('GB', 'United Kingdom', 'EU', 0),
    subdivisions       => [ { iso_code => 'ENG', names => { en => 'England' } } ],
    city               => { geoname_id => 2643743, names => { en => 'London' } },
    postal             => { code => 'EC1A' },
    location           => { latitude => 51.5074, longitude => -0.1278, accuracy_radius => 10,
                            time_zone => 'Europe/London' },
});

$tree->insert_network('192.0.2.0/24', {
    continent          => { code => 'NA', names => { en => 'North America' } },
    country            => country('US', 'United States', 'NA', 0),
    registered_country => country('US', 'United States', 'NA', 0),
    subdivisions       => [ { iso_code => 'CA', names => { en => 'California' } } ],
    city               => { geoname_id => 5391959, names => { en => 'San Francisco' } },
    postal             => { code => '94103' },
    location           => { latitude => 37.7749, longitude => -122.4194, accuracy_radius => 100,
                            time_zone => 'America/Los_Angeles' },
});

$tree->insert_network('2001:db8:2::/48', {
    continent          => { code => 'AS', names => { en => 'Asia' } },
    country            => country('JP', 'Japan', 'AS', 0),
    registered_country => country('JP', 'Japan', 'AS', 0),
    location           => { latitude => 35.69, longitude => 139.69, accuracy_radius => 500,
                            time_zone => 'Asia/Tokyo' },
});

open my $fh, '>:raw', "$out.tmp" or die "$out.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$out.tmp: $!\n";
rename "$out.tmp", $out or die "$out: $!\n";
