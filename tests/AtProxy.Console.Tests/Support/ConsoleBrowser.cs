using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace AtProxy.Console.Tests.Support;

/// <summary>
/// A headless chromium (Debian's <c>chromium</c> and <c>chromium-driver</c>) pointed at the console.
/// Missing browser binaries fail the tests with the command that installs them; they never skip.
/// </summary>
public sealed class ConsoleBrowser : IDisposable
{
    public const string InstallCommand = "apt-get update && apt-get install -y chromium chromium-driver";
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string DriverDirectory = "/usr/bin";
    private const string DriverName = "chromedriver";

    private readonly Uri _console;

    private ConsoleBrowser(ChromeDriver driver, Uri console)
    {
        Driver = driver;
        _console = console;
    }

    public ChromeDriver Driver { get; }

    /// <summary>The page's visible text.</summary>
    public string Text => Driver.FindElement(By.TagName("body")).Text;

    public string Path => new Uri(Driver.Url).PathAndQuery;

    public static ConsoleBrowser Start(Uri console)
    {
        foreach (var required in new[] { ChromiumPath, System.IO.Path.Combine(DriverDirectory, DriverName) })
        {
            if (!File.Exists(required))
            {
                throw new InvalidOperationException($"The console's browser tests need {required}, which is missing. Install it with: {InstallCommand}");
            }
        }
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1100", "--lang=en-US");
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
        return new ConsoleBrowser(driver, console);
    }

    public void Open(string pathAndQuery) => Driver.Navigate().GoToUrl(new Uri(_console, pathAndQuery));

    public IWebElement Find(string css) => Driver.FindElement(By.CssSelector(css));

    public IReadOnlyList<IWebElement> FindAll(string css) => Driver.FindElements(By.CssSelector(css));

    public void Type(string css, string text)
    {
        var field = Find(css);
        field.Clear();
        field.SendKeys(text);
    }

    /// <summary>Clicks and waits until the page it leads to has loaded.</summary>
    public void ClickAndWait(string css)
    {
        var before = Find("html");
        Find(css).Click();
        new WebDriverWait(Driver, TimeSpan.FromSeconds(30)).Until(_ => IsStale(before) && ((IJavaScriptExecutor)Driver).ExecuteScript("return document.readyState") as string == "complete");
    }

    public void SignIn(string token, string name)
    {
        Open("/signin");
        Type("#token", token);
        Type("#name", name);
        ClickAndWait("#sign-in");
    }

    public void SignOut()
    {
        Driver.Manage().Cookies.DeleteAllCookies();
    }

    public void Screenshot(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        Driver.GetScreenshot().SaveAsFile(path);
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
    }

    private static bool IsStale(IWebElement element)
    {
        try
        {
            _ = element.TagName;
            return false;
        }
        catch (WebDriverException)
        {
            // Stale, or (chromium's words for the same) a node that no longer belongs to the document.
            return true;
        }
    }
}
