using AtProxy;
using AtProxy.AspNetCore;
using AtProxy.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Npgsql;

// A service as a user writes it, with AtProxy from its packages: the orders database through
// ADO.NET, the inventory database through EF Core. It places one order that commits and one that
// rolls back, then exits. Arguments: the coordinator's address, the orders and the inventory
// databases' connection strings.
var builder = WebApplication.CreateBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Services.AddAtProxy(o =>
{
    o.Coordinator = new Uri(args[0]);
    o.ApplicationId = "packaged-app";
});
builder.Services.AddAtProxyDataSource("orders-db", _ => NpgsqlDataSource.Create(args[1]));
builder.Services.AddDbContext<InventoryContext>((services, options) =>
    options.UseNpgsql(args[2]).UseAtProxy(services.GetRequiredService<AtProxyClient>(), "inventory-db"));
var app = builder.Build();
app.UseAtProxy();
await app.StartAsync();

var atProxy = app.Services.GetRequiredService<AtProxyClient>();
var orders = app.Services.GetRequiredService<AtDbDataSource>();
await PlaceOrderAsync("kept", commit: true);
await PlaceOrderAsync("undone", commit: false);

await app.StopAsync();
// Disposing the client and the data source waits for phase 2 and deletes committed undo rows.
await app.DisposeAsync();
return 0;

async Task PlaceOrderAsync(string note, bool commit)
{
    await using var gtx = await atProxy.BeginAsync($"order-{note}", TimeSpan.FromSeconds(30));
    await using (var connection = await orders.OpenConnectionAsync())
    await using (var insert = connection.CreateCommand())
    {
        insert.CommandText = "INSERT INTO orders (note) VALUES (@note)";
        var parameter = insert.CreateParameter();
        parameter.ParameterName = "note";
        parameter.Value = note;
        insert.Parameters.Add(parameter);
        await insert.ExecuteNonQueryAsync();
    }
    await using (var scope = app.Services.CreateAsyncScope())
    {
        var inventory = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        var stock = await inventory.Stock.SingleAsync(s => s.Sku == "widget");
        stock.Count -= 1;
        await inventory.SaveChangesAsync();
    }
    if (commit)
    {
        await gtx.CommitAsync();
    }
    Console.WriteLine($"{(commit ? "committed" : "rolled back")} {gtx.Xid}");
}

internal sealed class InventoryContext(DbContextOptions<InventoryContext> options) : DbContext(options)
{
    public DbSet<Stock> Stock => Set<Stock>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<Stock>(stock =>
    {
        stock.ToTable("stock").HasKey(s => s.Sku);
        stock.Property(s => s.Sku).HasColumnName("sku");
        stock.Property(s => s.Count).HasColumnName("count");
    });
}

internal sealed class Stock
{
    public string Sku { get; set; } = "";

    public int Count { get; set; }
}
