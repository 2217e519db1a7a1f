return await AtProxy.Cli.CliApplication.RunAsync(args);
