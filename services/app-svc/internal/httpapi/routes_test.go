package httpapi

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apidoc"
)

func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := gin.New()
	Register(e, Deps{Auth: func(*gin.Context) {}, Mount: []func(gin.IRouter){(&Executions{}).Mount}})
	if err := apidoc.CheckRoutes(Prefix, e.Routes()); err != nil {
		t.Fatal(err)
	}
}
