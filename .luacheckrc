-- luacheck configuration (make lint; spec/memcheck/lint.sh).  Every
-- relaxation below says why.

-- The library runs on Lua 5.1-5.4 and LuaJIT (OpenResty), and guards its
-- version-specific globals itself (`table.unpack or unpack`, rawget(_G, "ngx")).
std = "max"
max_line_length = 120

-- `not (x > y)` is how NaN is rejected (`x <= y` would accept it).
ignore = { "581" }

-- busted specs: the busted globals; long lines are table-driven cases and
-- expected messages that read better unwrapped; loops that break at once
-- and empty branches with a comment are deliberate test shapes.  (This
-- also covers spec/openresty/nginx_test.lua, busted run inside nginx.)
files["spec"] = { std = "+busted", max_line_length = 160, ignore = { "512", "542" } }
files["spec/fuzz/gen_corpus.lua"] = { std = "lua54" }

-- api/: the operation data files run with `common` as their only global
-- (api/load.lua), and their rule sources quote the description's prose in
-- full; the generator itself keeps the usual width.
files["api"] = { read_globals = { "common" }, max_line_length = 200 }
files["api/load.lua"] = { max_line_length = 140 }
files["api/gen.lua"] = { max_line_length = 140 }
files["api/gendoc.lua"] = { max_line_length = 140 }
