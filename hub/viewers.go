package hub

import "net/http"

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
