using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using UnsubscribeSync.Functions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddUnsubscribeSync();
builder.Build().Run();
