// Package docsui embeds the API reference page: Swagger UI's prebuilt
// bundle from the npm package swagger-ui-dist (see UPDATE.md), a small
// index page and the script that starts it. Nothing is loaded from another
// origin, so the page works offline and under a strict CSP.
package docsui

import "embed"

// Version is the swagger-ui-dist release the assets were copied from.
const Version = "5.35.0"

//go:embed index.html init.js swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt
var FS embed.FS

// Assets maps each asset served under /api/public/docs/ to its media type.
// index.html is the page itself, served at /api/public/docs.
var Assets = map[string]string{
	"init.js":                          "text/javascript; charset=utf-8",
	"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
	"swagger-ui.css":                   "text/css; charset=utf-8",
	"LICENSE":                          "text/plain; charset=utf-8",
	"NOTICE":                           "text/plain; charset=utf-8",
	"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
}
