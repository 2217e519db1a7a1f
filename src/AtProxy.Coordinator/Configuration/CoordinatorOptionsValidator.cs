using AtProxy.Coordinator.Security;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Configuration;

/// <summary>Checks <see cref="CoordinatorOptions"/> at start so a bad setting stops the server with a clear message.</summary>
internal sealed class CoordinatorOptionsValidator : IValidateOptions<CoordinatorOptions>
{
    public ValidateOptionsResult Validate(string? name, CoordinatorOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.NodeId) || options.NodeId.Length > 64 ||
            !options.NodeId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            failures.Add($"Coordinator:NodeId '{options.NodeId}' must be 1..64 characters of letters, digits, '.', '_' or '-'.");
        }
        if (!Enum.IsDefined(options.Store))
        {
            failures.Add($"Coordinator:Store '{options.Store}' is not a store kind (embedded, postgres or memory).");
        }
        if (options.Store == StoreKind.Postgres)
        {
            if (string.IsNullOrWhiteSpace(options.StoreConnection))
            {
                failures.Add("Coordinator:StoreConnection (--store-connection) must be an Npgsql connection string for the postgres store.");
            }
            else if (StoreConnectionProblem(options.StoreConnection) is { } problem)
            {
                failures.Add($"Coordinator:StoreConnection (--store-connection) is not a valid Npgsql connection string: {problem}");
            }
            if (string.IsNullOrEmpty(options.StoreSchema) || options.StoreSchema.Length > 63 ||
                !options.StoreSchema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_') || char.IsAsciiDigit(options.StoreSchema[0]))
            {
                failures.Add($"Coordinator:StoreSchema '{options.StoreSchema}' must be 1..63 characters of lower-case letters, digits or '_', not starting with a digit.");
            }
        }
        else if (!string.IsNullOrEmpty(options.StoreConnection))
        {
            failures.Add($"Coordinator:StoreConnection (--store-connection) is set, but the store is {options.Store}; it is used by the postgres store only.");
        }
        if (options.LeaseMs < 1000)
        {
            failures.Add($"Coordinator:LeaseMs must be at least 1000 (got {options.LeaseMs}).");
        }
        if (options.MaxTimeoutMs is 0 or > CoordinatorOptions.ContractMaxTimeoutMs)
        {
            failures.Add($"Coordinator:MaxTimeoutMs must be 1..{CoordinatorOptions.ContractMaxTimeoutMs} (got {options.MaxTimeoutMs}).");
        }
        if (options.DefaultTimeoutMs == 0 || options.DefaultTimeoutMs > options.MaxTimeoutMs)
        {
            failures.Add($"Coordinator:DefaultTimeoutMs must be 1..MaxTimeoutMs ({options.MaxTimeoutMs}) (got {options.DefaultTimeoutMs}).");
        }
        if (options.MaxLockKeysPerBranch is < 1 or > CoordinatorOptions.ContractMaxLockKeys)
        {
            failures.Add($"Coordinator:MaxLockKeysPerBranch must be 1..{CoordinatorOptions.ContractMaxLockKeys} (got {options.MaxLockKeysPerBranch}).");
        }
        RequirePositive(failures, nameof(options.BranchCommandTimeoutMs), options.BranchCommandTimeoutMs);
        RequirePositive(failures, nameof(options.RetryInitialDelayMs), options.RetryInitialDelayMs);
        RequirePositive(failures, nameof(options.SweepIntervalMs), options.SweepIntervalMs);
        if (options.RetryMaxDelayMs < options.RetryInitialDelayMs)
        {
            failures.Add($"Coordinator:RetryMaxDelayMs ({options.RetryMaxDelayMs}) must be at least RetryInitialDelayMs ({options.RetryInitialDelayMs}).");
        }
        RequireRetryBudget(failures, nameof(options.MaxCommitRetryMs), options.MaxCommitRetryMs);
        RequireRetryBudget(failures, nameof(options.MaxRollbackRetryMs), options.MaxRollbackRetryMs);
        if (!string.IsNullOrEmpty(options.AlertWebhookUrl) &&
            (!Uri.TryCreate(options.AlertWebhookUrl, UriKind.Absolute, out var webhook) || webhook.Scheme is not ("http" or "https")))
        {
            failures.Add($"Coordinator:AlertWebhookUrl '{options.AlertWebhookUrl}' must be an absolute http or https URL.");
        }
        if (options.UnfinishedAlertAfterMs < 0)
        {
            failures.Add($"Coordinator:UnfinishedAlertAfterMs must be 0 (off) or positive (got {options.UnfinishedAlertAfterMs}).");
        }
        if (options.BranchFailureAlertThreshold < 0)
        {
            failures.Add($"Coordinator:BranchFailureAlertThreshold must be 0 (off) or positive (got {options.BranchFailureAlertThreshold}).");
        }
        if (options.EndedRetentionMs < 0)
        {
            failures.Add($"Coordinator:EndedRetentionMs must not be negative (got {options.EndedRetentionMs}).");
        }
        if (options.InterventionRetentionMs <= 0)
        {
            failures.Add($"Coordinator:InterventionRetentionMs must be positive (got {options.InterventionRetentionMs}).");
        }
        if (options.CompactionThresholdBytes < 4096)
        {
            failures.Add($"Coordinator:CompactionThresholdBytes must be at least 4096 (got {options.CompactionThresholdBytes}).");
        }
        if (!string.IsNullOrEmpty(options.ApplicationToken) && options.ApplicationToken == options.AdminToken)
        {
            failures.Add("Coordinator:AdminToken must differ from Coordinator:ApplicationToken.");
        }
        ValidateAdminUrls(failures, options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateAdminUrls(List<string> failures, CoordinatorOptions options)
    {
        var adminUrls = AdminUrlList.Parse(options.AdminUrls);
        failures.AddRange(adminUrls.Problems);
        // Without a token anyone who reaches the endpoint can intervene; on loopback that is only this machine.
        if (AdminCredential.Of(options) is null && adminUrls.Urls.FirstOrDefault(u => !AdminUrlList.IsLoopback(u)) is { } exposed)
        {
            failures.Add($"Coordinator:AdminUrls (--admin-urls): '{exposed}' is not a loopback address, and no admin token is set; " +
                "set Coordinator:AdminToken to serve the console beyond this machine, or listen on 127.0.0.1.");
        }
    }

    private static string? StoreConnectionProblem(string connectionString)
    {
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrEmpty(builder.Host) ? "it names no Host." : null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }

    private static void RequireRetryBudget(List<string> failures, string name, long value)
    {
        if (value != CoordinatorOptions.RetryForever && value <= 0)
        {
            failures.Add($"Coordinator:{name} must be positive, or {CoordinatorOptions.RetryForever} to retry without end (got {value}).");
        }
    }

    private static void RequirePositive(List<string> failures, string name, int value)
    {
        if (value <= 0)
        {
            failures.Add($"Coordinator:{name} must be positive (got {value}).");
        }
    }
}
