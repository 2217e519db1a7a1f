return await AtProxy.Coordinator.CoordinatorApplication.RunAsync(args);
