Console.Error.WriteLine("The demo is not built yet.");
return 1;
