package hub

import (
	"encoding/json"
	"net/http"

	"github.com/givelive/givelive/hub/wire"
)

// Roles a connection may declare in its handshake (GET /ws?role=…). Only
// viewers are counted in a room's viewer count: an OBS overlay or a
// broadcaster's studio is in the room to show it, not to watch it. A
// connection of the room's own broadcaster is never counted either,
// whatever it declares. An absent or unknown role is a viewer.
const (
	RoleViewer  = "viewer"
	RoleOverlay = "overlay"
	RoleStudio  = "studio"
)

// requestRole is the role a handshake declares.
func requestRole(r *http.Request) string {
	switch role := r.URL.Query().Get("role"); role {
	case RoleOverlay, RoleStudio:
		return role
	}
	return RoleViewer
}

// watches reports whether the connection counts as a viewer of a room
// whose fundraiser info describes.
func (c *Conn) watches(info RoomInfo) bool {
	if c.role != RoleViewer {
		return false
	}
	return !(c.ident.Broadcaster && c.ident.UserID != "" && c.ident.UserID == info.OwnerID)
}

// Viewers is the room's viewer count as this node last knew it: the count
// last published in the room (over every node, with a shared broker), or
// this node's own count before any was. ok is false for a room this node
// has no connection in.
func (h *Hub) Viewers(room string) (n int64, ok bool) {
	sh := h.shard(room)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	r := sh.rooms[room]
	if r == nil {
		return 0, false
	}
	if seen := r.seenViewers.Load(); seen >= 0 {
		return seen, true
	}
	return r.viewers, true
}

// noteViewers remembers the count a viewers publication carries.
func (r *room) noteViewers(p Publication) {
	var v wire.ViewersData
	if json.Unmarshal(p.Data, &v) == nil {
		r.seenViewers.Store(v.Count)
	}
}
