package redisbroker

import "github.com/redis/go-redis/v9"

// The scripts keep a room's state in two keys that share the hash tag
// {room}, so a Redis Cluster keeps them on one node:
//
//	meta   (hash)   e = epoch, o = last offset
//	stream (stream) one entry per recoverable publication, id "offset-0",
//	                fields t (type), m (unix ms), d (data)
//
// Both expire HistoryTTL after the room's last publication. When the meta
// key is missing the room starts a new epoch at offset 0 and any leftover
// stream is dropped, so stream ids never go backwards.

// publishScript appends a recoverable publication and publishes it, in one
// step: offsets are assigned and delivered in the same order.
//
// KEYS: meta, stream. ARGV: new epoch, channel, type, time, data,
// history size, ttl (ms), publish command (PUBLISH, or SPUBLISH on Redis
// Cluster). Returns {epoch, offset}.
var publishScript = redis.NewScript(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
end
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], offset .. '-0', 't', ARGV[3], 'm', ARGV[4], 'd', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call(ARGV[8], ARGV[2], offset .. ' ' .. epoch .. ' ' .. ARGV[3] .. ' ' .. ARGV[4] .. '\n' .. ARGV[5])
return {epoch, offset}
`)

// historyScript returns the room's position, creating its epoch if needed,
// and the entries after since when the epoch matches and the gap is no
// longer than the history size (the stream is trimmed approximately, so it
// may hold more than that; the cap is enforced here).
//
// KEYS: meta, stream. ARGV: new epoch, ttl (ms), epoch of since, since
// offset (-1 for none), history size. Returns {epoch, offset[, entries]}.
var historyScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[1], 'e', 'o')
local epoch, offset = m[1], tonumber(m[2])
if not epoch then
  epoch, offset = ARGV[1], 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local since = tonumber(ARGV[4])
if since < 0 or epoch ~= ARGV[3] or since >= offset or offset - since > tonumber(ARGV[5]) then
  return {epoch, offset}
end
return {epoch, offset, redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', offset .. '-0')}
`)
