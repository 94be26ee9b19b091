using UnsubscribeSync.SalesforceSandbox;

var app = SandboxApp.Build(args);
app.Run();
