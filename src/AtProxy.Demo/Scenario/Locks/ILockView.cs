namespace AtProxy.Demo.Scenario.Locks;

/// <summary>Shows the global locks the coordinator holds right now, the way an operator would look at them.</summary>
internal interface ILockView
{
    /// <summary>Prints the locks.</summary>
    Task ShowAsync(Uri coordinator, CancellationToken cancellationToken);
}
