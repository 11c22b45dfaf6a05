package redisbroker

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// viewersScript records one node's viewer count of a room and returns the
// total over the nodes whose counts are fresh, and whether this node leads
// the room (the smallest node id among them): only the leader publishes the
// total, so a change is announced once rather than once per node. Counts
// are stamped with Redis's own clock, so nodes' clocks do not matter.
//
// KEYS: viewers hash (field node id = "count:unix ms"). ARGV: node id,
// count, ttl (ms). Returns {total, leader (0 or 1)}.
var viewersScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. now)
local all = redis.call('HGETALL', KEYS[1])
local total, leader = 0, ARGV[1]
for i = 1, #all, 2 do
  local c, at = string.match(all[i + 1], '^(%d+):(%d+)$')
  if c and now - tonumber(at) <= ttl then
    total = total + tonumber(c)
    if all[i] < leader then leader = all[i] end
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
if leader == ARGV[1] then return {total, 1} end
return {total, 0}
`)

// newNodeID names this broker among the nodes sharing Redis.
func newNodeID() string { return rand.Text()[:16] }

// CountViewers records that this node has local viewers in room and
// returns the room's total over every node, and whether this node should
// announce it (hub.ViewerCounter). A node that stops reporting a room
// drops out of its total within a few seconds.
func (b *Broker) CountViewers(ctx context.Context, room string, local int64) (total int64, announce bool, err error) {
	res, err := viewersScript.Run(ctx, b.client, []string{b.channel(room) + ":v"},
		b.node, max(local, 0), b.cfg.ViewerTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("redis: failed to count viewers of %s: %w", room, err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("redis: viewer count of %s: unexpected reply %v", room, res)
	}
	return res[0], res[1] == 1, nil
}
