# Lua signals through real nginx: they pick variants, read the request and other signals, are
# typed; sandbox escapes, bombs and endless loops give a missing value (the default variant,
# status 200), a rate-limited warn line and tailor_errors_total{kind="lua"}; a Lua file that
# does not compile, or holds LuaJIT bytecode, fails `nginx -t` naming the file.
use strict;
use warnings;
use Tailor::Test;
use Test::More;
use JSON::PP;
use File::Temp ();
use Time::HiRes qw(time);

require_tailor_module();

my %lua = (
    # reads a cookie, a header, the query, the path and a built-in signal
    'tier.lua' => <<'LUA',
local tiers = { g = "gold", s = "silver" }
return function(req)
  local t = tiers[req.cookie("tier") or ""]
  if t == nil and req.header("X-Tier") == "gold" then t = "gold" end
  if t == nil and req.query("tier") == "s" then t = "silver" end
  if t == nil and req.path == "/tier/vip" then t = "gold" end
  if t == nil and req.signal("method") == "POST" then t = "silver" end
  return t
end
LUA
    'points.lua' => <<'LUA',
return function(req)
  return tonumber(req.cookie("pts") or "0") * 10
end
LUA
    'wrongtype.lua'  => qq{return function(req) return "forty" end\n},
    'nilresult.lua'  => qq{return function(req) return nil end\n},
    'os.lua'         => qq{return function(req) os.execute("touch /tmp/tailor-lua-escape") return "x" end\n},
    'io.lua'         => qq{return function(req) local f = io.open("/etc/passwd") return f:read("*l") end\n},
    'require.lua'    => qq{return function(req) local ffi = require("ffi") return "x" end\n},
    'load.lua'       => qq{return function(req) return load("return 'x'")() end\n},
    'loadstring.lua' => qq{return function(req) return loadstring("return 'x'")() end\n},
    'debug.lua'      => qq{return function(req) debug.sethook() return "x" end\n},
    'ffi.lua'        => qq{return function(req) return ffi.string(ffi.C.getenv("HOME")) end\n},
    'global.lua'     => qq{return function(req) leaked = 1 return "x" end\n},
    'rep.lua'        => qq{return function(req) local s = string.rep("x", 1e9) return "x" end\n},
    'grow.lua'       => <<'LUA',
return function(req)
  local t = {}
  for i = 1, 1e7 do t[i] = string.rep("y", 1000) .. i end
  return "x"
end
LUA
    'loop.lua'       => qq{return function(req) while true do end end\n},
    'hot.lua'        => <<'LUA',
return function(req)
  local s = 0
  for i = 1, 1e12 do s = s + i % 7 end
  return "x"
end
LUA
    'pcall.lua'      => <<'LUA',
return function(req)
  for k = 1, 100 do pcall(function() while true do end end) end
  return "x"
end
LUA
    # A back-reference to a position capture never matches: each start scans the rest of
    # the subject, quadratic work that the pattern step budget must stop.
    'poscap.lua'     => <<'LUA',
local s = string.rep("x", 240000)
return function(req) return tostring(s:find("()x*%1")) end
LUA
    # A bracket class of 250,000 items, scanned for every character it is tested on.
    'class.lua'      => <<'LUA',
local s = string.rep("a", 240000)
local cls = "[" .. string.rep("%d", 250000) .. "]"
return function(req) return tostring(s:find(cls)) end
LUA
);
my @escapes = qw(os io require load loadstring debug ffi global rep grow loop hot pcall
                 poscap class);

my $rules = <<'RULES';
signal tier      = lua("lua/tier.lua") : string
signal points    = lua("lua/points.lua") : number
signal wrongtype = lua("lua/wrongtype.lua") : number
signal nothing   = lua("lua/nilresult.lua") : string
page "/tier/*" { variant "gold" when tier == "gold"  variant "silver" when tier == "silver"  default "plain" }
page "/points" { variant "many" when points >= 40  default "few" }
page "/wrong"  { variant "number" when wrongtype >= 0  default "plain" }
page "/nil"    { variant "set" when exists(nothing)  default "plain" }
RULES
for my $e (@escapes) {
    $rules .= "signal esc_$e = lua(\"lua/$e.lua\") : string\n";
    $rules .= "page \"/escape/$e\" { variant \"escaped\" when esc_$e == \"x\"  default \"plain\" }\n";
}

my %files = ('conf/site.rules' => $rules, map { ("conf/lua/$_" => $lua{$_}) } keys %lua);

unlink '/tmp/tailor-lua-escape';
my $t = Tailor::Test::Server->new(
    workers     => 1,
    http_config => 'tailor_rules conf/site.rules;',
    config      => <<'CONF',
location / { tailor on; return 200 "$tailor_variant\n"; }
location = /status { tailor_status; }
CONF
    user_files  => \%files,
);
$t->start;

sub variant {
    my ($line, @h) = @_;
    my $r = $t->request($line, headers => \@h);
    return "status $r->{status}" unless $r->{status} == 200;
    (my $b = $r->{body}) =~ s/\n\z//;
    return $b;
}

sub lua_errors {
    my $s = decode_json($t->request('GET /status')->{body});
    return $s->{errors}{lua};
}

# --- Lua signals in rules ------------------------------------------------------------------
is variant('GET /tier/a', Cookie => 'tier=g'), 'gold', 'cookie read by Lua picks gold';
is variant('GET /tier/a', Cookie => 'tier=s'), 'silver', 'cookie read by Lua picks silver';
is variant('GET /tier/a', 'X-Tier' => 'gold'), 'gold', 'header read by Lua';
is variant('GET /tier/a?tier=s'), 'silver', 'query read by Lua';
is variant('GET /tier/vip'), 'gold', 'path read by Lua';
is variant('POST /tier/a'), 'silver', 'a built-in signal read through req.signal';
is variant('GET /tier/a'), 'plain', 'nil from Lua is missing: the default';
is variant('GET /points', Cookie => 'pts=5'), 'many', 'number signal compared as a number (50 >= 40)';
is variant('GET /points', Cookie => 'pts=3'), 'few', 'number signal below the threshold (30)';
is variant('GET /nil'), 'plain', 'return nil: exists() is false';

my $before = lua_errors();
is $before, 0, 'no Lua error yet (return nil is not an error)';

is variant('GET /wrong'), 'plain', 'a string for a number signal is missing: the default';
# Counting happens in the log phase after the response: give the worker a moment.
select undef, undef, undef, 0.2;
is lua_errors(), 1, 'the wrong type is counted as a lua error';

# --- sandbox escapes, bombs and loops: default variant, 200, counted -----------------------
for my $e (@escapes) {
    my $start = time;
    is variant("GET /escape/$e"), 'plain', "$e: refused or stopped, the default is served";
    # The call's budget is 10 ms; 2 s leaves room for a loaded machine, not for a matcher
    # that runs past its budget.
    cmp_ok time - $start, '<', 2, "$e: answered at once";
}
ok !-e '/tmp/tailor-lua-escape', 'os.execute did not run';
select undef, undef, undef, 0.2;
is lua_errors(), 1 + @escapes, 'every escape counted in tailor_errors_total{kind="lua"}';
like $t->request('GET /status?format=prometheus')->{body},
    qr/^tailor_errors_total\{kind="lua"\} ${\(1 + @escapes)}$/m, 'prometheus lua error counter';

# The worker survived all of it and still serves Lua signals.
is variant('GET /tier/a', Cookie => 'tier=g'), 'gold', 'Lua signals still work after the escapes';
is variant('GET /points', Cookie => 'pts=9'), 'many', 'and numbers too';

# Many failures within the interval: one warn line per worker, not one per request.
is variant('GET /escape/loop'), 'plain', 'loop again' for 1 .. 5;
$t->stop;
my $log = $t->error_log;
my @lines = grep { /tailor: lua signal failed/ } split /\n/, $log;
cmp_ok scalar(@lines), '>=', 1, 'a lua failure is logged';
cmp_ok scalar(@lines), '<=', 2, 'lua failures are rate-limited (' . scalar(@lines) . ' lines for '
    . (1 + @escapes + 5) . ' failures)';
like $lines[0] // '', qr/\[warn\]/, 'logged at warn';
like $lines[0] // '', qr/lua signal 'wrongtype'.*declared number/, 'the line names the signal and the reason';
unlike $log, qr/exited on signal/, 'no worker crashed';
unlike $log, qr/\[(?:alert|crit|emerg)\]/, 'nothing above error';

# --- a Lua file that does not compile fails nginx -t, naming the file ------------------------
my $bad = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
    user_files  => {
        'conf/site.rules'   => qq{signal b = lua("lua/broken.lua") : string\nsegment s = b == "x"\n},
        'conf/lua/broken.lua' => "return function(req)\n  local x = = 1\nend\n",
    },
);
my ($ok, $out) = $bad->test_config;
ok !$ok, 'nginx -t fails on a Lua syntax error';
like $out, qr{broken\.lua:2:}, 'the message names the Lua file and line';
like $out, qr{site\.rules:1:\d+}, 'and the rule that declares it';

# A Lua file whose top-level code escapes the sandbox fails at load, too.
my $bad2 = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
    user_files  => {
        'conf/site.rules'  => qq{signal b = lua("lua/top.lua") : string\nsegment s = b == "x"\n},
        'conf/lua/top.lua' => qq{os.execute("true")\nreturn function(req) return "x" end\n},
    },
);
($ok, $out) = $bad2->test_config;
ok !$ok, 'nginx -t fails when the top-level code calls os.execute';
like $out, qr{top\.lua}, 'naming the file';

# A file of LuaJIT bytecode (string.dump's output) fails nginx -t: LuaJIT does not verify
# bytecode, so a crafted chunk could escape the sandbox. The chunk is made by the installed
# LuaJIT (lua_dump of a function that would load fine as source); without a C compiler, a
# bytecode header stands in.
my $bytecode = do {
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    open my $c, '>', "$dir/dump.c" or die $!;
    print {$c} <<'C';
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
static int out(lua_State *L, const void *p, size_t n, void *ud) {
  (void) L; (void) ud;
  return fwrite(p, 1, n, stdout) == n ? 0 : 1;
}
int main(void) {
  lua_State *L = luaL_newstate();
  if (luaL_loadstring(L, "return function(req) return 'x' end") != 0) return 1;
  return lua_dump(L, out, NULL);
}
C
    close $c;
    my $flags = `pkg-config --cflags --libs luajit 2>/dev/null` // '';
    chomp $flags;
    my $chunk = '';
    if ($flags ne '' && system("cc -o $dir/dump $dir/dump.c $flags 2>/dev/null") == 0) {
        $chunk = `$dir/dump`;
    }
    $chunk = "\x1bLJ\x02\x0a" . ("\0" x 32) unless $chunk =~ /^\x1bLJ/;
    $chunk;
};
my $bc = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
    user_files  => {
        'conf/site.rules'        => qq{signal b = lua("lua/bytecode.lua") : string\n}
                                  . qq{page "/" { variant "bc" when b == "x"  default "home" }\n},
        'conf/lua/bytecode.lua'  => $bytecode,
    },
);
($ok, $out) = $bc->test_config;
ok !$ok, 'nginx -t fails on a file of LuaJIT bytecode';
like $out, qr{lua/bytecode\.lua: the file is precompiled LuaJIT bytecode}, 'naming the file and why';
ok !$bc->try_start, 'and nginx does not start with it';
$bc->stop;

done_testing;
