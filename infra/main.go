// Command infra is the web-demo Pulumi program. `pulumi up` in the project
// root runs it; `web-demo:level` (0 to 4) picks the tutorial level. It
// imports only the Pulumi SDK and package stack.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"webdemo/infra/stack"
)

func main() {
	pulumi.Run(stack.Program(stack.Options{BuildApp: stack.BuildApp, WaitHealthy: stack.WaitHealthy}))
}
