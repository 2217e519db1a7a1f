Console.Error.WriteLine("atproxy: no commands yet.");
return 2;
